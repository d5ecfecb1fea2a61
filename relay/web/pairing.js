// Pairing: the only view an unpaired visitor sees. A one-time code (typed
// or from a #pair= link) is exchanged for a device token.

import { $, showError, showView, toast } from './dom.js';
import { addToken, api, tokens } from './api.js';

/** Said on the next showing of the view (e.g. why the token is gone). */
let pairMessage = '';

export function setPairMessage(msg) {
  pairMessage = msg;
}

export function showPair() {
  showView('pair-view');
  for (const o of document.querySelectorAll('.origin')) o.textContent = location.origin;
  showError($('pair-error'), pairMessage);
  pairMessage = '';
  $('pair-back').hidden = !tokens().length;
  $('pair-code').focus({ preventScroll: true });
}

function deviceLabel() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS'
    : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows'
      : /Linux/.test(ua) ? 'Linux' : 'unknown system';
  const br = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'browser';
  return `web: ${br} on ${os}`;
}

/** Pairs with `code`; `paired()` then shows where to go next. */
export async function pairWith(code, fromLink, paired) {
  showPair();
  const input = $('pair-code');
  const btn = $('pair-submit');
  input.value = code;
  btn.disabled = true;
  btn.textContent = 'Pairing…';
  try {
    const tok = await api('POST', '/pair', { body: { code: code.trim(), label: deviceLabel() } });
    addToken(tok.id, tok.token);
    input.value = '';
    paired();
    toast('This browser is paired.');
  } catch (e) {
    const why = e.status === 401
      ? `The code ${fromLink ? 'in this link ' : ''}was refused: it is wrong, used or expired (codes live 10 minutes and work once). Ask rcd for a new one (space bar in its terminal).`
      : e.message;
    showError($('pair-error'), why);
  } finally {
    btn.disabled = false;
    btn.textContent = 'Pair';
  }
}

/** The pairing form; `paired()` as for pairWith. */
export function initPairing(paired) {
  $('pair-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = $('pair-code').value.trim();
    if (code) pairWith(code, false, paired);
  });
}

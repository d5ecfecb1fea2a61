// The dialogs of the list and terminal views: a new session, stopping one,
// and what a stop did with its worktree.

import { $, closeDialog, h, openDialog, showError } from './dom.js';
import { api, enc, sessionPath } from './api.js';

// New session

let newEnv = null;

export function openNew(e) {
  newEnv = e;
  $('new-env').textContent = e.name;
  $('new-name').value = '';
  for (const r of document.querySelectorAll('#new-form input[name=spawn]')) r.checked = r.value === e.spawn;
  showPrograms(e);
  showError($('new-error'), '');
  $('new-create').disabled = false;
  $('new-create').textContent = 'Create';
  openDialog($('new-dialog'));
  $('new-name').focus();
}

/** The machine's programs as a choice, its default chosen. An older rcd
 *  lists none and runs its one command: then there is nothing to choose. */
function showPrograms(e) {
  const set = $('new-programs');
  for (const l of set.querySelectorAll('label')) l.remove();
  const names = Array.isArray(e.programs) ? e.programs : [];
  set.hidden = names.length < 2;
  for (const name of names) {
    const input = h('input');
    input.type = 'radio';
    input.name = 'program';
    input.value = name;
    input.checked = name === (e.default_program || names[0]);
    const label = h('label');
    label.dataset.program = name;
    label.append(input, ' ', h('span', 'program-name', name));
    if (name === e.default_program) label.append(h('span', 'muted', '(default)'));
    set.append(label);
  }
}

// Stop

let stopTarget = null;

/** Asks whether to stop session `s` of machine `e`; `stopped()` runs
 *  once it is. */
export function openStop(e, s, stopped) {
  stopTarget = { e, s, stopped };
  $('stop-name').textContent = s.name;
  const wt = s.spawn === 'worktree' || !!s.branch;
  $('stop-text').textContent = `The program gets a hang-up signal, then is killed if it does not end. ` +
    (wt ? 'Its worktree and branch are removed only if they hold no work (no uncommitted change, untracked file or commit of their own); otherwise they are kept.'
      : 'It runs in the shared directory, which stays as it is.');
  $('stop-force-row').hidden = !wt;
  $('stop-force').checked = false;
  showError($('stop-error'), '');
  $('stop-confirm').disabled = false;
  $('stop-confirm').textContent = 'Stop session';
  openDialog($('stop-dialog'));
}

function showStopReport(r) {
  $('result-title').textContent = `Stopped ${r.name}`;
  const body = $('result-body');
  body.replaceChildren();
  if (r.exit_code !== null && r.exit_code !== undefined) {
    const sig = { 129: 'hang-up signal', 130: 'interrupt', 137: 'killed', 143: 'terminated' }[r.exit_code];
    body.append(h('p', null, `The program ended with status ${r.exit_code}${sig ? ` (${sig})` : ''}.`));
  }
  const w = r.worktree;
  const p = h('p', 'worktree-outcome');
  if (!w) {
    p.textContent = 'It had no worktree of its own: it ran in the shared directory.';
  } else if (w.action === 'kept') {
    p.dataset.action = 'kept';
    p.append(h('strong', null, 'The worktree was kept'),
      `: it holds work (${w.reason || 'changes'}).`);
    const where = h('div', 'mono small');
    where.textContent = `${w.path} (branch ${w.branch})`;
    p.append(where);
    body.append(p, h('p', 'muted', 'Nothing is lost. “rcctl worktrees” on that machine lists the kept worktrees.'));
  } else if (w.action === 'saved') {
    p.dataset.action = 'saved';
    p.append(h('strong', null, 'The worktree was removed after saving its work'),
      ` under ${w.saved_ref || 'refs/rcd/saved/'}.`);
  } else {
    p.dataset.action = w.action;
    p.append(h('strong', null, 'The worktree was removed'),
      `: it held no work${w.reason ? ` (${w.reason})` : ''}. Branch ${w.branch} is gone too.`);
  }
  if (!body.contains(p)) body.append(p);
  openDialog($('result-dialog'));
}

/** The dialogs' buttons and forms. */
export function initDialogs() {
  $('new-cancel').addEventListener('click', () => closeDialog($('new-dialog')));

  $('new-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const e = newEnv;
    if (!e) return;
    const name = $('new-name').value.trim();
    const checked = document.querySelector('#new-form input[name=spawn]:checked');
    const program = document.querySelector('#new-form input[name=program]:checked');
    const btn = $('new-create');
    btn.disabled = true;
    btn.textContent = 'Creating…';
    showError($('new-error'), '');
    try {
      const s = await api('POST', `/environments/${enc(e.id)}/sessions`, {
        token: e.token,
        body: { name: name || null, spawn: checked ? checked.value : null, ...(program ? { program: program.value } : {}) },
        timeout: 40000,
      });
      closeDialog($('new-dialog'));
      location.hash = `#/s/${enc(e.id)}/${enc(s.name)}`;
    } catch (err) {
      // The daemon's own words (e.g. "at capacity (2/2): …").
      showError($('new-error'), err.message);
    } finally {
      btn.disabled = false;
      btn.textContent = 'Create';
    }
  });

  $('stop-cancel').addEventListener('click', () => closeDialog($('stop-dialog')));

  $('stop-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = stopTarget;
    if (!t) return;
    const btn = $('stop-confirm');
    btn.disabled = true;
    btn.textContent = 'Stopping…';
    try {
      const force = $('stop-force').checked && !$('stop-force-row').hidden;
      const report = await api('DELETE', `${sessionPath(t.e.id, t.s.name)}?force=${force}`, {
        token: t.e.token,
        timeout: 40000,
      });
      closeDialog($('stop-dialog'));
      showStopReport(report);
      t.stopped();
    } catch (err) {
      showError($('stop-error'), err.message);
    } finally {
      btn.disabled = false;
      btn.textContent = 'Stop session';
    }
  });
}

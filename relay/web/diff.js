// The review of a worktree session: what it changed against its base
// commit (or only what is not committed yet), one file at a time, long
// lines wrapped, a file list to jump; the same diff as `rcctl diff`.

import { $, h, showView } from './dom.js';
import { api, enc, sessionPath } from './api.js';
import { refreshMachines, tokenFor } from './machines.js';

/** The review shown: { env, name, uncommitted, diff, at }, or null. */
let view = null;

const STATUS = {
  added: 'added', untracked: 'new, untracked', modified: 'modified',
  deleted: 'deleted', renamed: 'renamed', typechange: 'type changed',
};

export function showDiff(env, name) {
  showView('diff-view');
  view = { env, name, uncommitted: false, diff: null, at: 0 };
  $('diff-name').textContent = name;
  $('diff-back').href = `#/s/${enc(env)}/${enc(name)}`;
  document.title = `${name}: changes · rcd`;
  load();
}

export function closeDiff() {
  view = null;
}

async function load() {
  const v = view;
  if (!v) return;
  setPressed();
  $('diff-sum').textContent = 'loading…';
  $('diff-file').replaceChildren();
  $('diff-files').replaceChildren();
  $('diff-note').hidden = true;
  try {
    if (!tokenFor(v.env)) await refreshMachines();
    const path = `${sessionPath(v.env, v.name)}/diff?uncommitted=${v.uncommitted}`;
    const d = await api('GET', path, { token: tokenFor(v.env), timeout: 35000 });
    if (view !== v) return;
    v.diff = d;
    v.at = 0;
    render();
  } catch (e) {
    if (view !== v) return;
    $('diff-sum').textContent = '';
    note(`Cannot show the changes: ${e.message}`);
  }
}

function note(text) {
  const n = $('diff-note');
  n.textContent = text;
  n.hidden = !text;
}

function setPressed() {
  $('diff-all').setAttribute('aria-pressed', String(!view.uncommitted));
  $('diff-unc').setAttribute('aria-pressed', String(view.uncommitted));
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function render() {
  const { diff: d } = view;
  const against = d.uncommitted ? 'not committed yet' : `against ${d.base.slice(0, 8)}`;
  $('diff-sum').textContent = `${plural(d.files.length, 'file', 'files')} · +${d.added} −${d.removed} · ${against}`;
  if (d.truncated) note('This diff is large: some files show only their counts (rcctl diff --stat lists them all).');
  const sel = $('diff-files');
  sel.replaceChildren(...d.files.map((f, i) => {
    const o = h('option', null, `${f.path}  ${f.binary ? 'binary' : `+${f.added} −${f.removed}`}`);
    o.value = String(i);
    return o;
  }));
  sel.disabled = d.files.length < 2;
  if (!d.files.length) {
    $('diff-file').replaceChildren(h('p', 'empty', d.uncommitted
      ? 'Nothing that is not committed.' : 'No change against the base.'));
    $('diff-pos').textContent = '';
    $('diff-prev').disabled = true;
    $('diff-next').disabled = true;
    return;
  }
  showFile(0);
}

function showFile(i) {
  const { diff: d } = view;
  view.at = i;
  const f = d.files[i];
  $('diff-files').value = String(i);
  $('diff-pos').textContent = `${i + 1} of ${d.files.length}`;
  $('diff-prev').disabled = i === 0;
  $('diff-next').disabled = i === d.files.length - 1;
  const box = $('diff-file');
  const head = h('div', 'diff-head');
  head.append(h('div', 'diff-path', f.old_path ? `${f.old_path} → ${f.path}` : f.path));
  const meta = h('div', 'diff-meta');
  meta.append(h('span', `chip diff-status ${f.status}`, STATUS[f.status] || f.status));
  if (!f.binary) meta.append(h('span', 'diff-count add', `+${f.added}`), h('span', 'diff-count del', `−${f.removed}`));
  head.append(meta);
  const body = h('div', 'diff-body');
  if (f.binary) body.append(h('p', 'muted', 'A binary file: not shown.'));
  for (const hk of f.hunks) {
    body.append(h('div', 'dl hunk', hk.header));
    for (const l of hk.lines) {
      const cls = l.kind === '+' ? 'add' : l.kind === '-' ? 'del' : 'ctx';
      const row = h('div', `dl ${cls}`);
      row.append(h('span', 'sign', l.kind === ' ' ? '' : l.kind), h('span', 'text', l.text));
      body.append(row);
    }
  }
  if (f.cut) body.append(h('p', 'diff-cut', `Not everything is shown: ${f.cut}.`));
  box.replaceChildren(head, body);
  box.scrollTop = 0;
  window.scrollTo(0, 0);
}

export function initDiff() {
  $('diff-all').addEventListener('click', () => { if (view && view.uncommitted) { view.uncommitted = false; load(); } });
  $('diff-unc').addEventListener('click', () => { if (view && !view.uncommitted) { view.uncommitted = true; load(); } });
  $('diff-files').addEventListener('change', (e) => { if (view && view.diff) showFile(Number(e.target.value)); });
  $('diff-prev').addEventListener('click', () => { if (view && view.diff && view.at > 0) showFile(view.at - 1); });
  $('diff-next').addEventListener('click', () => {
    if (view && view.diff && view.at < view.diff.files.length - 1) showFile(view.at + 1);
  });
}

// Small DOM helpers shared by the views: elements, the toast, dialogs,
// the menu sheet, and "5 min ago".

export const $ = (id) => document.getElementById(id);

/** An element with a class and text. */
export function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

let toastTimer = null;

/** A message at the bottom of the page for `ms`. */
export function toast(msg, ms = 4000) {
  const t = $('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, ms);
}

export function showError(el, msg) {
  el.textContent = msg || '';
  el.hidden = !msg;
}

export function ago(secs) {
  if (!Number.isFinite(secs) || secs < 0) return '';
  if (secs < 10) return 'just now';
  if (secs < 60) return `${Math.floor(secs)} s ago`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.floor(secs / 3600)} h ago`;
  return `${Math.floor(secs / 86400)} d ago`;
}

export function secsAgo(secs) {
  return secs < 120 ? `${Math.round(secs)} s ago` : ago(secs);
}

export function sinceIso(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, (Date.now() - t) / 1000) : NaN;
}

/** Shows one of the page's views (pair-view, list-view, term-view). */
export function showView(id) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== id;
  document.body.dataset.view = id;
}

export function openDialog(d) {
  if (!d.open) d.showModal();
}

export function closeDialog(d) {
  if (d.open) d.close();
}

/** A menu sheet: items are [label, action, className]. */
export function menu(title, items) {
  $('menu-title').textContent = title;
  const box = $('menu-items');
  box.replaceChildren();
  for (const [label, action, cls] of items) {
    const b = h('button', 'menu-item' + (cls ? ' ' + cls : ''), label);
    b.type = 'button';
    b.addEventListener('click', () => {
      closeDialog($('menu-dialog'));
      action();
    });
    box.append(b);
  }
  openDialog($('menu-dialog'));
}

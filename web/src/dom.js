// Tiny DOM helpers. Every user-typed string goes through `esc` (or textContent) before rendering.

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for use inside HTML element content or a quoted attribute. */
export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]);
}

/**
 * Tagged template that escapes every interpolated value unless it is wrapped in `raw()`.
 * Arrays are joined (each element escaped unless raw).
 */
export function html(strings, ...vals) {
  let out = strings[0];
  vals.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Raw(out);
}

class Raw {
  constructor(s) {
    this.s = s;
  }
  toString() {
    return this.s;
  }
}

export function raw(s) {
  return new Raw(String(s));
}

function render(v) {
  if (v instanceof Raw) return v.s;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function $$(sel, root = document) {
  return [...root.querySelectorAll(sel)];
}

/** Creates an element from trusted template output (use `html` for the content). */
export function el(markup) {
  const t = document.createElement('template');
  t.innerHTML = String(markup).trim();
  return t.content.firstElementChild;
}

/**
 * Applies `data-bg` / `data-border` colours through the CSSOM. Markup carries no `style`
 * attributes: the Content-Security-Policy (`style-src 'self'`) refuses them.
 */
export function paint(root) {
  if (!root || root.nodeType !== 1) return;
  const nodes = root.matches('[data-bg],[data-border]') ? [root] : [];
  nodes.push(...root.querySelectorAll('[data-bg],[data-border]'));
  for (const n of nodes) {
    if (n.dataset.bg) n.style.background = n.dataset.bg;
    if (n.dataset.border) n.style.borderColor = n.dataset.border;
  }
}

/** Paints every element added to the page from now on (see `paint`). */
export function paintAdded(root = document.body) {
  paint(root);
  new MutationObserver((changes) => {
    for (const c of changes) c.addedNodes.forEach(paint);
  }).observe(root, { childList: true, subtree: true });
}

let toastTimer;
/** A short message at the top of the screen; kind is 'ok', 'error' or 'info'. */
export function toast(message, kind = 'info', ms = 4000) {
  let box = document.getElementById('toast');
  if (!box) {
    box = document.createElement('div');
    box.id = 'toast';
    box.setAttribute('role', 'status');
    box.setAttribute('aria-live', 'polite');
    document.body.appendChild(box);
  }
  box.textContent = message;
  box.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.className = 'toast';
  }, ms);
}

export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

// Fetch wrapper for the server's JSON API. The session is the HttpOnly cookie, so every call is
// same-origin with credentials; a 401 anywhere sends the user back to the sign-in screen.
// Errors are shown from the server's machine `code` in the user's language, never as the
// server's English text inside the Chinese UI.

import { getLang, hasKey, t as translate } from './i18n.js';

export class ApiError extends Error {
  constructor(status, message, details = [], body = null) {
    super(message);
    this.status = status;
    this.details = details;
    this.body = body;
    this.code = (body && typeof body.code === 'string' && body.code) || null;
    this.params = (body && body.params && typeof body.params === 'object' && body.params) || {};
  }
  get offline() {
    return this.status === 0;
  }
}

const listeners = new Set();
/** Called with the ApiError whenever the server answers 401. */
export function onUnauthorized(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * `api(path, {method, json, form, headers, raw})` → parsed JSON (or the Response when `raw`).
 * Throws ApiError: status 0 when the network failed, otherwise the server's `{error, details}`.
 */
export async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', credentials: 'same-origin', headers: { ...(opts.headers || {}) } };
  if (opts.json !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.json);
  } else if (opts.form) {
    init.body = opts.form;
  }
  if (opts.signal) init.signal = opts.signal;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network');
  }
  if (opts.raw && res.ok) return res;
  const text = await res.text().catch(() => '');
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(
      res.status,
      (body && body.error) || `HTTP ${res.status} ${res.statusText}`,
      (body && Array.isArray(body.details) && body.details) || [],
      body,
    );
    if (res.status === 401 && !opts.noAuthRedirect) listeners.forEach((fn) => fn(err));
    throw err;
  }
  if (opts.withHeaders) return { body, headers: res.headers, status: res.status };
  return body;
}

/** A code's parameters as words: statuses by their names, lists joined. */
function wordParams(params, t) {
  const out = {};
  for (const [k, v] of Object.entries(params || {})) {
    if ((k === 'from' || k === 'to') && typeof v === 'string' && hasKey(`status_${v}`)) out[k] = t(`status_${v}`);
    else if (k === 'roles' && Array.isArray(v)) out[k] = v.map((r) => (hasKey(`role_${r}`) ? t(`role_${r}`) : r)).join(t('list_sep'));
    else if (Array.isArray(v)) out[k] = v.join(', ');
    else out[k] = v ?? '';
  }
  return out;
}

/**
 * A readable message for an error, in the language of `t`: the server's code when it sent a
 * known one; otherwise in English the server's text, in Chinese a message by HTTP status.
 */
export function errorText(e, t = translate) {
  if (e instanceof ApiError) {
    if (e.offline) return t('network_error');
    if (e.code && hasKey(`err_${e.code}`)) return t(`err_${e.code}`, wordParams(e.params, t));
    if (getLang() === 'en') return `${e.message} (${e.status})`;
    const byStatus = `err_${e.status}`;
    return t(hasKey(byStatus) ? byStatus : 'err_generic', { status: e.status });
  }
  return String(e && e.message ? e.message : e);
}

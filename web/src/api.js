// Fetch wrapper for the server's JSON API. The session is the HttpOnly cookie, so every call is
// same-origin with credentials; a 401 anywhere sends the user back to the sign-in screen.

export class ApiError extends Error {
  constructor(status, message, details = [], body = null) {
    super(message);
    this.status = status;
    this.details = details;
    this.body = body;
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

/** A readable message for an error, in the language of `t`. */
export function errorText(e, t) {
  if (e instanceof ApiError) {
    if (e.offline) return t('network_error');
    return `${e.message} (${e.status})`;
  }
  return String(e && e.message ? e.message : e);
}

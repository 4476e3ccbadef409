// Who is signed in and what the server states about its domain (`GET /api/meta`): categories,
// zone kinds and sectors with their colours, statuses, transitions per role, limits, stages.

import { api } from './api.js';

export const session = {
  user: null,
  /** `[{id, zh, en}]`, from `GET /api/meta`. */
  categories: [],
  /** The whole `GET /api/meta` answer; `null` until signed in. */
  meta: null,
};

/**
 * Loads `GET /api/meta` once per sign-in (a failure propagates: the views cannot work without
 * it); `forget()` on sign-out.
 */
export async function loadMeta() {
  if (!session.meta) {
    const meta = await api('/api/meta');
    session.meta = meta;
    session.categories = meta.categories;
  }
  return session.meta;
}

/** Drops what the last user's session loaded. */
export function forget() {
  session.user = null;
  session.meta = null;
  session.categories = [];
}

/** The server's list `name` (`zone_kinds`, `sectors`, `statuses`, …) of the loaded meta. */
export function metaList(name) {
  if (!session.meta) throw new Error('GET /api/meta has not been loaded');
  return session.meta[name];
}

/** The colour the server gives `id` in the list `name` (`zone_kinds`, `sectors`, `statuses`). */
export function colourOf(name, id) {
  const e = metaList(name).find((x) => x.id === id);
  if (!e) throw new Error(`GET /api/meta lists no ${name} ${id}`);
  return e.colour;
}

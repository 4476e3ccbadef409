// Who is signed in and the lists every view needs (categories), as the server states them.

import { api } from './api.js';

export const session = {
  user: null,
  /** `[{id, zh, en}]` from `GET /api/categories`. */
  categories: [],
};

/** Loads the categories from the server; a failure propagates (the view cannot work without them). */
export async function loadCategories() {
  const body = await api('/api/categories');
  session.categories = body.categories;
  return session.categories;
}

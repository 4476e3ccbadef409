// Who is signed in and the lists every view needs (categories).

import { api, ApiError } from './api.js';
import { FALLBACK_CATEGORIES } from './i18n.js';

export const session = {
  user: null,
  categories: FALLBACK_CATEGORIES,
  categoriesFromServer: false,
};

/** `/api/categories` → `[{id, zh, en}]`, tolerant of the exact field names; falls back locally. */
export async function loadCategories() {
  try {
    const body = await api('/api/categories');
    const list = Array.isArray(body) ? body : body.categories || [];
    session.categories = list.map((c) =>
      typeof c === 'string'
        ? FALLBACK_CATEGORIES.find((f) => f.id === c) || { id: c, zh: c, en: c }
        : {
            id: c.id || c.key || c.code,
            zh: c.zh || c.label_zh || c.zh_cn || c['zh-CN'] || c.labels?.zh || c.name_zh,
            en: c.en || c.label_en || c.labels?.en || c.name_en,
          },
    );
    session.categoriesFromServer = true;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) console.warn('categories:', e.message);
  }
  return session.categories;
}

// api.js - the REST API (/api/v1, docs/openapi.json) with the token from
// sessionStorage.  Relative URLs: the dashboard works under a path prefix.

const KEY = 'ruad.token';

export class ApiError extends Error {
  constructor(status, problem, path) {
    const detail = problem && (problem.detail || problem.title);
    super(ApiError.explain(status, detail, path));
    this.status = status;
    this.problem = problem;
  }

  static explain(status, detail, path) {
    if (status === 401) return 'The server did not accept this token (401 Unauthorized). ' +
      'Check it, or create a new one with: ruad token new --scope read';
    if (status === 403) return 'This token may not do that (403 Forbidden): ' +
      'reprocessing needs a token made with --scope write.';
    if (status === 0) return 'Cannot reach ruad: ' + (detail || 'network error') + '.';
    return `The API answered ${status} for ${path}` + (detail ? `: ${detail}` : '.');
  }
}

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

// takeFragmentToken - "#token=..." becomes the session's token and leaves
// the address bar (and the history entry) at once
export function takeFragmentToken() {
  const m = /^#token=([^&]*)/.exec(location.hash);
  if (!m) return false;
  let t = m[1];
  try { t = decodeURIComponent(t); } catch { /* keep it as it is */ }
  history.replaceState(history.state, '', location.pathname + location.search);
  if (!t) return false;
  token.set(t);
  return true;
}

function url(path, params) {
  const u = new URL('api/v1/' + path, document.baseURI);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  }
  return u;
}

export async function api(path, params, method = 'GET') {
  let r;
  try {
    r = await fetch(url(path, params), {
      method,
      headers: { Authorization: 'Bearer ' + (token.get() || ''), Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, { detail: e.message }, path);
  }
  if (!r.ok) {
    let problem = null;
    try { problem = await r.json(); } catch { /* not JSON */ }
    const err = new ApiError(r.status, problem, path);
    if (r.status === 401) window.dispatchEvent(new CustomEvent('ruad-unauthorized', { detail: err }));
    throw err;
  }
  return r.json();
}

// all - every item of a list endpoint, following next_cursor (at most max)
export async function all(path, params, max = 5000) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path, { ...params, limit: 1000, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return { items, truncated: Boolean(cursor) };
}

// raw - the received bytes of an inbound row, as a Blob
export async function raw(id) {
  const r = await fetch(url(`inbound/${id}/raw`), {
    headers: { Authorization: 'Bearer ' + (token.get() || '') },
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!r.ok) throw new ApiError(r.status, null, `inbound/${id}/raw`);
  return r.blob();
}

// state.js - the view and its filters live in the URL's query string, so
// every screen is a link that can be shared (the token never is: it is in
// sessionStorage, and a #token= fragment is removed on arrival).

import { addDays, today } from './util.js';

export const VIEWS = ['overview', 'sources', 'dmarc', 'tls', 'ingestion'];
const PERIODS = ['7', '30', '90', '365', 'all', 'custom'];
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

// read - the state from location.search, with defaults
export function read() {
  const q = new URLSearchParams(location.search);
  const s = Object.fromEntries(q.entries());
  if (!VIEWS.includes(s.view)) s.view = 'overview';
  if (s.since && !DAY_RE.test(s.since)) delete s.since;
  if (s.until && !DAY_RE.test(s.until)) delete s.until;
  if (!PERIODS.includes(s.period)) s.period = s.since || s.until ? 'custom' : '30';
  return s;
}

// href - the URL of a state (defaults left out)
export function href(s) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined || v === null || v === '') continue;
    if (k === 'view' && v === 'overview') continue;
    if (k === 'period' && v === '30') continue;
    if ((k === 'since' || k === 'until') && s.period !== 'custom') continue;
    q.set(k, v);
  }
  const qs = q.toString();
  return location.pathname + (qs ? '?' + qs : '');
}

// go - a new state: push (a new history entry) or replace
export function go(s, replace = false) {
  const u = href(s);
  if (u === location.pathname + location.search) return false;
  if (replace) history.replaceState(null, '', u);
  else history.pushState(null, '', u);
  window.dispatchEvent(new Event('ruad-navigate'));
  return true;
}

// range - the API's since (inclusive) and until (exclusive) for a state,
// and the first and last day shown
export function range(s) {
  const t = today();
  if (s.period === 'all') return { since: null, until: null, first: null, last: null };
  if (s.period === 'custom') {
    const first = s.since || null;
    const last = s.until || null;
    return { since: first, until: last ? addDays(last, 1) : null, first, last };
  }
  const n = Number(s.period);
  const first = addDays(t, -(n - 1));
  return { since: first, until: addDays(t, 1), first, last: t };
}

// query - the API filter parameters shared by every view
export function query(s) {
  const r = range(s);
  return { domain: s.domain || null, since: r.since, until: r.until };
}

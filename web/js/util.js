// util.js - DOM building (text only: report data never becomes markup)
// and number, date and period formatting.

// h - an element: h('td', {class: 'num'}, '12', child, ...); attributes
// starting with "on" are listeners, "dataset" an object, the rest strings
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const nf = new Intl.NumberFormat(undefined);
const pf = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

export const num = (n) => (n === null || n === undefined ? '–' : nf.format(n));
export const pct = (part, whole) => (whole > 0 ? pf.format(part / whole) : '–');
export const rateText = (r) => (r === null || r === undefined ? '–' : pf.format(r));

// day - "2026-11-03" from a Date (UTC)
export const isoDay = (d) => d.toISOString().slice(0, 10);

export function addDays(day, n) {
  const d = new Date(day + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

export function today() {
  return isoDay(new Date());
}

// dayLabel - "Nov 3" for chart axes
const dlf = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
export const dayLabel = (day) => dlf.format(new Date(day + 'T00:00:00Z'));

const dtf = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC',
});
const df = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });

export const dateTime = (s) => (s ? dtf.format(new Date(s)) + ' UTC' : '–');
// stamp - "2026-11-28 22:14" (UTC), compact for tables
export const stamp = (s) => (s ? s.slice(0, 10) + ' ' + s.slice(11, 16) : '–');
// span - a report's period: one date when it starts and ends on one day
export function span(begin, end) {
  const b = date(begin);
  const e = date(end);
  return b === e ? b : `${b} – ${e}`;
}

export const date = (s) => (s ? df.format(new Date(s.length === 10 ? s + 'T00:00:00Z' : s)) : '–');

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
// ago - "3 days ago" for a time in the past
export function ago(s) {
  if (!s) return '–';
  const secs = (Date.parse(s) - Date.now()) / 1000;
  const abs = Math.abs(secs);
  if (abs < 3600) return rtf.format(Math.round(secs / 60), 'minute');
  if (abs < 86400 * 2) return rtf.format(Math.round(secs / 3600), 'hour');
  if (abs < 86400 * 60) return rtf.format(Math.round(secs / 86400), 'day');
  if (abs < 86400 * 730) return rtf.format(Math.round(secs / (86400 * 30)), 'month');
  return rtf.format(Math.round(secs / (86400 * 365)), 'year');
}

export function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

// badge - a coloured word; cls defaults to the word itself
export const badge = (word, cls) =>
  h('span', { class: 'badge ' + (cls || String(word || '').replace(/[^a-z_]/gi, '')) }, word || '–');

// rateBar - a pass-rate bar and its percentage
export function rateBar(rate) {
  const fill = h('span');
  fill.style.width = Math.round((rate || 0) * 1000) / 10 + '%';
  return h('div', { class: 'rate' },
    h('div', { class: 'rate-bar', 'aria-hidden': 'true' }, fill),
    h('span', { class: 'rate-text' }, rateText(rate)));
}

// card - a titled box
export function card(title, sub, ...body) {
  return h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('div', null, h('h2', null, title), sub ? h('p', null, sub) : null)),
    ...body);
}

// table - columns [{label, num, sort}] and rows of cells
export function table(caption, columns, rows, empty = 'Nothing in this period.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', null,
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', null, h('tr', null, columns.map((c) =>
        c.el ? c.el : h('th', { class: c.num ? 'num' : null, scope: 'col' }, c.label)))),
      h('tbody', null, rows)));
}

// pager - under a list: what is shown, and "Show more" while there is a
// next page (next(cursor) appends it)
export function pager(shown, cursor, next) {
  return [h('span', { class: 'note' }, shown),
    cursor ? h('button', {
      type: 'button', class: 'secondary', onclick: async (e) => {
        e.target.disabled = true;
        await next(cursor);
      },
    }, 'Show more') : null].filter(Boolean);
}

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err.message || String(err));
}

// fillDays - every day from first to last (inclusive) in order
export function fillDays(first, last) {
  const out = [];
  for (let d = first; d <= last && out.length < 4000; d = addDays(d, 1)) out.push(d);
  return out;
}

// ingestion.js - the inbound audit log: everything received, how, and
// what became of it (parsed, duplicate, malformed, ...), with the reason;
// a row that failed can be run again (needs a write token).

import { api, raw } from '../api.js';
import * as state from '../state.js';
import { badge, bytes, card, dateTime, h, num, pager, stamp } from '../util.js';

const STATES = ['pending', 'processing', 'parsed', 'duplicate', 'not_a_report', 'malformed', 'too_large', 'unauthenticated', 'superseded', 'conflict', 'failed'];
const CHANNELS = ['smtp', 'https', 'import', 'imap'];
const REPROCESSABLE = new Set(['failed', 'malformed', 'too_large', 'not_a_report', 'unauthenticated', 'conflict']);

function select(label, name, value, options, s) {
  return h('label', null, label, h('select', {
    name, onchange: (e) => state.go({ ...s, [name]: e.target.value || null, id: null }),
  }, h('option', { value: '' }, 'All'), options.map((o) => h('option', { value: o, selected: o === value }, o.replace(/_/g, ' ')))));
}

function who(r) {
  if (r.channel === 'import') return r.source_name || '–';
  const parts = [r.peer_addr, r.smtp_helo ? `HELO ${r.smtp_helo}` : null, r.smtp_mail_from ? `from <${r.smtp_mail_from}>` : null];
  return parts.filter(Boolean).join(' · ') || '–';
}

async function download(id, button) {
  button.disabled = true;
  try {
    const blob = await raw(id);
    const a = h('a', { href: URL.createObjectURL(blob), download: `inbound-${id}.raw` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } finally {
    button.disabled = false;
  }
}

async function reprocess(id, cell, row) {
  const button = cell.querySelector('button.reprocess');
  button.disabled = true;
  const msg = cell.querySelector('.msg') || h('div', { class: 'msg note', role: 'status' });
  cell.append(msg);
  try {
    const r = await api(`inbound/${id}/reprocess`, null, 'POST');
    msg.className = 'msg ok';
    msg.textContent = `Queued again (${r.state}).`;
    row.querySelector('td[data-col="state"]').replaceChildren(badge(r.state, 'pending'));
  } catch (e) {
    button.disabled = false;
    msg.className = 'msg error';
    msg.textContent = e.message;
  }
}

export default async function ingestion(s, box) {
  const params = { state: STATES.includes(s.state) ? s.state : null, channel: CHANNELS.includes(s.channel) ? s.channel : null };
  const r = state.range(s);
  box.append(h('div', { class: 'view-head' }, h('h1', null, 'Ingestion'),
    h('p', null, 'Everything received, newest first, and what became of it')));
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  box.append(card('Inbound log', 'Times are when ruad received the message or file (UTC)',
    h('div', { class: 'inline-filters' },
      select('State', 'state', params.state, STATES, s),
      select('Channel', 'channel', params.channel, CHANNELS, s)),
    h('div', { class: 'table-wrap' }, h('table', null,
      h('thead', null, h('tr', null, ['#', 'Received', 'Channel', 'From', 'Size', 'State', 'Reason', 'DKIM', 'Reports', '']
        .map((l, i) => h('th', { scope: 'col', class: i === 4 ? 'num' : null }, l)))),
      tbody)),
    more));
  let count = 0;
  const page = async (cursor) => {
    const p = await api('inbound', { ...params, since: r.since, until: r.until, limit: 100, cursor });
    count += p.items.length;
    tbody.append(...p.items.map((x) => {
      const action = h('td', null);
      const row = h('tr', { dataset: { id: x.id }, class: String(x.id) === s.id ? 'selected' : null },
        h('td', { class: 'mono' }, String(x.id)),
        h('td', { class: 'nowrap', title: dateTime(x.received_at) }, stamp(x.received_at)),
        h('td', null, x.channel, x.tls_version ? h('div', { class: 'note' }, x.tls_version) : null),
        h('td', null, who(x)),
        h('td', { class: 'num' }, bytes(x.size)),
        h('td', { dataset: { col: 'state' } }, badge(x.state), x.attempts > 1 ? h('div', { class: 'note' }, `${x.attempts} attempts`) : null),
        h('td', null, x.reason || '–', x.warnings.length ? h('div', { class: 'note' }, `${num(x.warnings.length)} warnings`) : null),
        h('td', null, x.dkim.result ? badge(x.dkim.result) : h('span', { class: 'note' }, '–'),
          x.dkim.domain ? h('div', { class: 'note' }, x.dkim.domain) : null),
        h('td', null,
          x.dmarc_reports.map((id) => h('div', null, h('a', { href: state.href({ ...s, view: 'dmarc', report: id, state: null, channel: null, id: null }) }, `DMARC #${id}`))),
          x.tlsrpt_reports.map((id) => h('div', null, h('a', { href: state.href({ ...s, view: 'tls', report: id, state: null, channel: null, id: null }) }, `TLS #${id}`)))),
        action);
      const dl = h('button', { type: 'button', class: 'link', onclick: (e) => download(x.id, e.target) }, 'Raw');
      action.append(dl);
      if (REPROCESSABLE.has(x.state)) {
        action.append(h('button', { type: 'button', class: 'secondary reprocess', onclick: () => reprocess(x.id, action, row) }, 'Reprocess'));
      }
      return row;
    }));
    more.replaceChildren(...pager(count ? `${num(count)} rows shown` : 'Nothing received with these filters.', p.next_cursor, page));
  };
  await page(null);
}

// sources.js - who sends mail as the domain: one row per sending IP with
// volume, pass rates, header_from domains, first and last seen; choosing a
// row shows the report records behind it.

import { all } from '../api.js';
import * as state from '../state.js';
import { badge, card, date, h, num, pct, rateBar, table } from '../util.js';

const SORTS = {
  messages: (a, b) => b.messages - a.messages,
  failing: (a, b) => (b.messages - b.dmarc_pass) - (a.messages - a.dmarc_pass) || b.messages - a.messages,
  pass: (a, b) => a.dmarc_pass_rate - b.dmarc_pass_rate || b.messages - a.messages,
  last: (a, b) => b.last_seen.localeCompare(a.last_seen),
};
const RECORDS_MAX = 5000;

function authList(results, kind) {
  if (!results.length) return h('span', { class: 'note' }, 'none');
  return h('div', { class: 'auth' }, results.map((r) => h('span', null,
    badge(r.result || '–', r.result === 'pass' ? 'pass' : r.result === 'fail' ? 'fail' : ''), ' ',
    r.domain || '–', kind === 'dkim' && r.selector ? ` (s=${r.selector})` : '',
    kind === 'spf' && r.scope ? ` (${r.scope})` : '')));
}

// records - the records of ip for the period and domain
// (GET dmarc/records: every record, not only the recent reports')
async function records(s, ip, out) {
  if (!ip) {
    out.replaceChildren(h('p', { class: 'note' }, 'These records name no valid address, so they cannot be looked up by ' +
      'address: open their reports from the DMARC reports view.'));
    return;
  }
  const { items, truncated } = await all('dmarc/records', { ...state.query(s), source_ip: ip }, RECORDS_MAX);
  const messages = items.reduce((n, r) => n + (r.count || 0), 0);
  const rows = items.map((rec) => h('tr', { dataset: { report: String(rec.report), rec: String(rec.rec_no) } },
    h('td', null, h('a', { href: state.href({ ...s, view: 'dmarc', report: rec.report, ip: null }) }, rec.org_name),
      h('div', { class: 'note' }, date(rec.begin))),
    h('td', { class: 'num' }, num(rec.count)),
    h('td', null, badge(rec.disposition)),
    h('td', null, badge(rec.dkim, rec.dkim === 'pass' ? 'pass' : 'fail'), ' ', badge(rec.spf, rec.spf === 'pass' ? 'pass' : 'fail')),
    h('td', null, rec.header_from || '–', rec.envelope_from ? h('div', { class: 'note' }, 'envelope ' + rec.envelope_from) : null),
    h('td', null, authList(rec.dkim_results, 'dkim')),
    h('td', null, authList(rec.spf_results, 'spf')),
    h('td', null, rec.reasons.map((r) => h('div', null, r.type || '', r.comment ? `: ${r.comment}` : '')))));
  out.replaceChildren(
    h('p', { class: 'note', id: 'records-note' }, `${num(items.length)} records, ${num(messages)} messages, from ${ip} in the ` +
      'reports that began in the period' + (truncated ? ` (the first ${num(RECORDS_MAX)} shown; narrow the period to see the rest)` : '') + '.'),
    table('Records', [
      { label: 'Report' }, { label: 'Messages', num: true }, { label: 'Disposition' }, { label: 'DKIM · SPF (policy)' },
      { label: 'Header From' }, { label: 'DKIM results' }, { label: 'SPF results' }, { label: 'Reasons' },
    ], rows, 'No records of this source in the period.'));
}

export default async function sources(s, box) {
  const q = state.query(s);
  const { items, truncated } = await all('dmarc/sources', q, 5000);
  const sort = SORTS[s.sort] ? s.sort : 'messages';
  items.sort(SORTS[sort]);
  const total = items.reduce((n, x) => n + x.messages, 0);

  box.append(h('div', { class: 'view-head' },
    h('h1', null, 'Sources'),
    h('p', null, `${num(items.length)} sending IPs · ${num(total)} messages` + (truncated ? ' (first 5,000 sources)' : ''))));

  const sortHead = (key, label, isNum) => h('th', {
    scope: 'col', class: isNum ? 'num' : null, 'aria-sort': sort === key ? (key === 'pass' ? 'ascending' : 'descending') : null,
  }, h('button', { type: 'button', onclick: () => state.go({ ...s, sort: key === 'messages' ? null : key }, true) }, label));

  const selected = s.ip !== undefined ? s.ip : null;
  const rows = items.map((x) => {
    const ip = x.source_ip || '';
    return h('tr', { class: ip === selected ? 'selected' : null, dataset: { ip } },
      h('td', null, h('button', {
        type: 'button', class: 'row-link', 'aria-expanded': String(ip === selected),
        onclick: () => state.go({ ...s, ip: ip === selected ? null : ip }),
      }, ip || '(not an address)')),
      h('td', { class: 'num' }, num(x.messages)),
      h('td', null, rateBar(x.dmarc_pass_rate)),
      h('td', { class: 'num' }, pct(x.dkim_aligned_pass, x.messages)),
      h('td', { class: 'num' }, pct(x.spf_aligned_pass, x.messages)),
      h('td', null, h('ul', { class: 'list' }, x.header_from.slice(0, 4).map((d) => h('li', null, d)),
        x.header_from.length > 4 ? h('li', { class: 'note' }, `+${x.header_from.length - 4} more`) : null)),
      h('td', null, h('ul', { class: 'list' }, x.reporters.slice(0, 3).map((d) => h('li', null, d)),
        x.reporters.length > 3 ? h('li', { class: 'note' }, `+${x.reporters.length - 3} more`) : null)),
      h('td', null, date(x.first_seen)),
      h('td', null, date(x.last_seen)));
  });

  const detail = h('div', { class: 'detail', id: 'source-detail' });
  box.append(card('Sending IPs', 'Click an address to see the report records behind it. DKIM and SPF columns: share of messages with an aligned pass.',
    table('Sending IPs', [
      { label: 'Source IP' }, { el: sortHead('messages', 'Messages', true) },
      { el: sortHead('pass', 'DMARC pass') }, { label: 'DKIM', num: true }, { label: 'SPF', num: true },
      { label: 'Header From' }, { label: 'Reporters' }, { label: 'First seen' }, { el: sortHead('last', 'Last seen') },
    ], rows, 'No DMARC reports in this period.'),
    h('div', { class: 'more' }, h('button', {
      type: 'button', class: 'secondary', onclick: () => state.go({ ...s, sort: 'failing' }, true),
    }, 'Sort by failing messages'))));

  if (selected !== null) {
    const x = items.find((i) => (i.source_ip || '') === selected);
    const out = h('div', null, h('p', { class: 'loading' }, 'Reading the reports…'));
    detail.append(card(`Records from ${selected || '(not an address)'}`,
      x ? `${num(x.messages)} messages, ${pct(x.dmarc_pass, x.messages)} pass DMARC · first seen ${date(x.first_seen)}, last seen ${date(x.last_seen)}` : 'Not seen in this period.',
      out));
    box.append(detail);
    await records(s, selected, out);
    detail.scrollIntoView({ block: 'nearest' });
  }
}

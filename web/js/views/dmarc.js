// dmarc.js - DMARC aggregate reports: the list (newest first, page by
// page) and one report with its policy, records, authentication results
// and the DKIM verdict of the mail that carried it.

import { api } from '../api.js';
import * as state from '../state.js';
import { badge, card, dateTime, h, num, pager, span, stamp, table } from '../util.js';

function verdict(v) {
  if (!v || v.result === null) return h('span', { class: 'note' }, 'not mailed');
  return h('span', null, badge(v.result), v.domain ? ` ${v.domain}` : '',
    v.aligned === true ? ' (aligned)' : v.aligned === false ? ' (not aligned)' : '');
}

function fact(label, value) {
  return h('div', null, h('dt', null, label), h('dd', null, value === null || value === undefined || value === '' ? '–' : value));
}

function auth(results, kind) {
  if (!results.length) return h('span', { class: 'note' }, 'none');
  return h('div', { class: 'auth' }, results.map((r) => h('div', null,
    badge(r.result || '–', r.result === 'pass' ? 'pass' : r.result === 'fail' ? 'fail' : ''), ' ',
    r.domain || '–', kind === 'dkim' && r.selector ? ` s=${r.selector}` : '',
    kind === 'spf' && r.scope ? ` (${r.scope})` : '',
    r.human_result ? h('div', { class: 'note' }, r.human_result) : null)));
}

async function detail(s, box) {
  const r = await api(`dmarc/reports/${encodeURIComponent(s.report)}`);
  const p = r.policy;
  const back = { ...s, report: null };
  const messages = r.records.reduce((n, x) => n + (x.count || 0), 0);
  box.append(h('a', { class: 'back', href: state.href(back) }, '← All DMARC reports'),
    h('div', { class: 'view-head' },
      h('h1', null, `${r.org_name}: ${r.policy_domain}`),
      h('p', null, `${span(r.begin, r.end)} · ${num(r.record_count)} records · ${num(r.message_count)} messages`)));
  const ib = r.inbound_dkim;
  box.append(card('Report', null, h('dl', { class: 'facts' },
    fact('Reporter', h('span', null, r.org_name, r.org_email ? h('div', { class: 'note' }, r.org_email) : null)),
    fact('Report ID', h('span', { class: 'mono' }, r.report_id)),
    fact('Period', `${dateTime(r.begin)} – ${dateTime(r.end)}`),
    fact('Policy published', [p.p ? `p=${p.p}` : null, p.sp ? `sp=${p.sp}` : null, p.np ? `np=${p.np}` : null,
      p.pct !== null ? `pct=${p.pct}` : null, p.adkim ? `adkim=${p.adkim}` : null, p.aspf ? `aspf=${p.aspf}` : null,
      p.fo ? `fo=${p.fo}` : null, p.testing ? `t=${p.testing}` : null].filter(Boolean).join('; ')),
    fact('DKIM of the carrying mail', ib ? h('span', null, badge(ib.result || 'none'), ib.domain ? ` d=${ib.domain}` : '',
      ib.selector ? ` s=${ib.selector}` : '', ib.aligned === true ? ' · aligned with ' : ib.aligned === false ? ' · not aligned with ' : '',
      ib.aligned !== null ? (ib.from_domain || '') : '') : h('span', { class: 'note' }, 'not mailed (imported or posted)')),
    fact('Received', h('a', { href: state.href({ view: 'ingestion', id: r.inbound_id }) }, `inbound #${r.inbound_id}`), ' · stored ' + dateTime(r.stored_at)),
    fact('Format', [r.version ? `version ${r.version}` : null, r.generator].filter(Boolean).join(' · ') || null),
    r.errors.length ? fact('Reporter errors', r.errors.join('; ')) : null)));
  box.append(h('div', { class: 'detail' }, card('Records', `${num(r.records.length)} rows, ${num(messages)} messages`,
    table('Records', [
      { label: 'Source IP' }, { label: 'Messages', num: true }, { label: 'Disposition' }, { label: 'DKIM' }, { label: 'SPF' },
      { label: 'Header From' }, { label: 'Envelope' }, { label: 'DKIM results' }, { label: 'SPF results' }, { label: 'Reasons' },
    ], r.records.map((x) => h('tr', null,
      h('td', { class: 'mono' }, h('a', { href: state.href({ ...s, view: 'sources', report: null, ip: x.source_ip || '' }) }, x.source_ip || '–')),
      h('td', { class: 'num' }, num(x.count)),
      h('td', null, badge(x.disposition)),
      h('td', null, badge(x.dkim, x.dkim === 'pass' ? 'pass' : 'fail')),
      h('td', null, badge(x.spf, x.spf === 'pass' ? 'pass' : 'fail')),
      h('td', null, x.header_from || '–'),
      h('td', null, x.envelope_from || '–', x.envelope_to ? h('div', { class: 'note' }, 'to ' + x.envelope_to) : null),
      h('td', null, auth(x.dkim_results, 'dkim')),
      h('td', null, auth(x.spf_results, 'spf')),
      h('td', null, x.reasons.length ? x.reasons.map((y) => h('div', null, y.type || '', y.comment ? `: ${y.comment}` : '')) : '–'))),
    'This report has no records.'))));
}

async function list(s, box) {
  const q = state.query(s);
  box.append(h('div', { class: 'view-head' }, h('h1', null, 'DMARC reports'),
    h('p', null, `${s.domain || 'all domains'}, newest first`)));
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  const wrap = h('div', { class: 'table-wrap' }, h('table', null,
    h('thead', null, h('tr', null, ['Reporter', 'Domain', 'Period', 'Records', 'Messages', 'DKIM of the mail', 'Received']
      .map((l, i) => h('th', { scope: 'col', class: i === 3 || i === 4 ? 'num' : null }, l)))),
    tbody));
  box.append(card('Reports', null, wrap, more));
  let count = 0;
  const page = async (cursor) => {
    const p = await api('dmarc/reports', { ...q, org: s.org, limit: 50, cursor });
    count += p.items.length;
    tbody.append(...p.items.map((r) => h('tr', { dataset: { id: r.id } },
      h('td', null, h('a', { href: state.href({ ...s, report: r.id }) }, r.org_name), h('div', { class: 'note' }, r.report_id)),
      h('td', null, r.policy_domain),
      h('td', null, span(r.begin, r.end)),
      h('td', { class: 'num' }, num(r.record_count)),
      h('td', { class: 'num' }, num(r.message_count)),
      h('td', null, verdict(r.dkim)),
      h('td', { class: 'nowrap', title: dateTime(r.stored_at) }, stamp(r.stored_at)))));
    more.replaceChildren(...pager(count ? `${num(count)} reports shown` : 'No DMARC reports in this period.', p.next_cursor, page));
  };
  await page(null);
}

export default async function dmarc(s, box) {
  if (s.report) return detail(s, box);
  return list(s, box);
}

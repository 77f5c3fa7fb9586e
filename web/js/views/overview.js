// overview.js - a domain's period at a glance: figures, DMARC results and
// dispositions per day, volume, TLS sessions per day, the sources that
// fail most, and the reporters with when each last reported.

import { api, all } from '../api.js';
import { chart, stackedBars } from '../charts.js';
import * as state from '../state.js';
import { ago, badge, card, dateTime, dayLabel, fillDays, h, num, pct, rateBar, table } from '../util.js';

// passing - messages that pass DMARC (DKIM or SPF aligned)
export const passing = (c) => c.outcome.both_aligned + c.outcome.dkim_aligned_only + c.outcome.spf_aligned_only;

function kpi(name, label, value, sub, tone) {
  return h('div', { class: 'kpi ' + (tone || ''), dataset: { kpi: name } },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value' }, value),
    h('div', { class: 'kpi-sub' }, sub || '\u00a0'));
}

// days - the x axis: the period's days, or the data's when unbounded
function days(s, groups) {
  const r = state.range(s);
  const keys = groups.map((g) => g.key).filter(Boolean).sort();
  const first = r.first || keys[0];
  const last = r.last || keys[keys.length - 1];
  return first && last ? fillDays(first, last) : [];
}

function byKey(groups) {
  return new Map(groups.map((g) => [g.key, g]));
}

const SERIES = {
  result: [
    ['Both aligned', (g) => g.outcome.both_aligned, 'pass'],
    ['DKIM aligned only', (g) => g.outcome.dkim_aligned_only, 'pass-2'],
    ['SPF aligned only', (g) => g.outcome.spf_aligned_only, 'pass-3'],
    ['Fails DMARC', (g) => g.outcome.neither, 'fail'],
  ],
  disposition: [
    ['Delivered (none)', (g) => g.disposition.none, 'pass'],
    ['Quarantined', (g) => g.disposition.quarantine, 'quarantine'],
    ['Rejected', (g) => g.disposition.reject, 'reject'],
    ['Other', (g) => g.disposition.other, 'neutral'],
  ],
};

function complianceChart(holder, labels, map, stack) {
  chart(holder, stack === 'result' ? 'DMARC results per day' : 'Dispositions per day', (color) =>
    stackedBars(labels.map(dayLabel), SERIES[stack].map(([label, get, c]) => ({
      label, backgroundColor: color(c), data: labels.map((d) => (map.has(d) ? get(map.get(d)) : 0)),
    }))));
}

export default async function overview(s, box) {
  const q = state.query(s);
  const [dm, tl, src, rep] = await Promise.all([
    api('dmarc/summary', { ...q, group_by: 'day' }),
    api('tlsrpt/summary', { ...q, group_by: 'day' }),
    all('dmarc/sources', q, 5000),
    api('reporters'),
  ]);
  const t = dm.totals;
  const pass = passing(t);
  const enforced = t.disposition.quarantine + t.disposition.reject;
  const tt = tl.totals;
  const scope = s.domain || 'all domains';

  box.append(h('div', { class: 'view-head' },
    h('h1', null, 'Overview'),
    h('p', null, `${scope} · ${t.messages ? num(t.messages) + ' messages reported' : 'no DMARC reports in this period'}`)));

  box.append(h('div', { class: 'kpis' },
    kpi('messages', 'Messages', num(t.messages), `${num(dm.groups.length)} days with reports`),
    kpi('pass', 'DMARC pass', pct(pass, t.messages), `${num(pass)} messages aligned`,
      t.messages === 0 ? '' : pass / t.messages >= 0.95 ? 'good' : pass / t.messages >= 0.8 ? 'warn' : 'bad'),
    kpi('fail', 'Failing DMARC', num(t.outcome.neither), 'neither DKIM nor SPF aligned', t.outcome.neither ? 'bad' : 'good'),
    kpi('enforced', 'Quarantined or rejected', num(enforced), `${pct(enforced, t.messages)} of messages`),
    kpi('tls-sessions', 'TLS sessions', num(tt.sessions), `${num(tt.successful)} successful`),
    kpi('tls-failed', 'TLS failures', num(tt.failed), `${pct(tt.failed, tt.sessions)} of sessions`,
      tt.sessions === 0 ? '' : tt.failed === 0 ? 'good' : tt.failed / tt.sessions < 0.01 ? 'warn' : 'bad')));

  // DMARC per day, stacked by result or by disposition
  const labels = days(s, dm.groups);
  const dmap = byKey(dm.groups);
  const stack = s.stack === 'disposition' ? 'disposition' : 'result';
  const compHolder = h('div', { class: 'chart', id: 'chart-compliance' });
  const segButton = (value, text) => h('button', {
    type: 'button', 'aria-pressed': String(stack === value),
    onclick: () => state.go({ ...s, stack: value === 'result' ? null : value }, true),
  }, text);
  const volHolder = h('div', { class: 'chart short', id: 'chart-volume' });
  const tlsHolder = h('div', { class: 'chart short', id: 'chart-tls' });
  const compCard = card('DMARC compliance', 'Messages per day by the DMARC result or by what receivers did with them', compHolder);
  compCard.querySelector('.card-head').append(h('div', { class: 'seg', role: 'group', 'aria-label': 'Stack by' },
    segButton('result', 'By result'), segButton('disposition', 'By disposition')));
  box.append(h('div', { class: 'grid two' }, compCard,
    h('div', { class: 'grid', style: null },
      card('Message volume', 'Messages reported per day', volHolder),
      card('TLS sessions', 'Successful and failed SMTP TLS sessions per day (RFC 8460 reports)', tlsHolder))));
  complianceChart(compHolder, labels, dmap, stack);
  chart(volHolder, 'Messages per day', (color) => ({
    type: 'line',
    data: {
      labels: labels.map(dayLabel),
      datasets: [{
        label: 'Messages', data: labels.map((d) => (dmap.has(d) ? dmap.get(d).messages : 0)),
        borderColor: color('accent'), backgroundColor: color('accent') + '33', fill: true, tension: 0.25, pointRadius: 0, borderWidth: 2,
      }],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { display: false } },
      scales: { x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  }));
  const tlabels = days(s, tl.groups);
  const tmap = byKey(tl.groups);
  chart(tlsHolder, 'TLS sessions per day', (color) => stackedBars(tlabels.map(dayLabel), [
    { label: 'Successful', backgroundColor: color('pass'), data: tlabels.map((d) => (tmap.has(d) ? tmap.get(d).successful : 0)) },
    { label: 'Failed', backgroundColor: color('fail'), data: tlabels.map((d) => (tmap.has(d) ? tmap.get(d).failed : 0)) },
  ]));

  // sources failing most, and the reporters
  const failing = src.items
    .map((x) => ({ ...x, failing: x.messages - x.dmarc_pass }))
    .filter((x) => x.failing > 0)
    .sort((a, b) => b.failing - a.failing || b.messages - a.messages)
    .slice(0, 10);
  const srcLink = (ip) => h('a', { href: state.href({ ...s, view: 'sources', ip: ip || '', stack: null }) }, ip || '(not an address)');
  const failTable = table('Top failing sources', [
    { label: 'Source IP' }, { label: 'Failing', num: true }, { label: 'Messages', num: true },
    { label: 'DMARC pass' }, { label: 'Header From' },
  ], failing.map((x) => h('tr', { dataset: { ip: x.source_ip || '' } },
    h('td', { class: 'mono' }, srcLink(x.source_ip)),
    h('td', { class: 'num' }, num(x.failing)),
    h('td', { class: 'num' }, num(x.messages)),
    h('td', null, rateBar(x.dmarc_pass_rate)),
    h('td', null, x.header_from.slice(0, 3).join(', ') + (x.header_from.length > 3 ? ' …' : '')))),
  'No source failed DMARC in this period.');

  const newest = rep.items.reduce((m, r) => (r.last_received > m ? r.last_received : m), '');
  const silentAfter = 3 * 86400 * 1000;
  const reporters = [...rep.items].sort((a, b) => b.last_report.localeCompare(a.last_report));
  const repTable = table('Reporters', [
    { label: 'Reporter' }, { label: 'Kind' }, { label: 'Reports', num: true }, { label: 'Last report' }, { label: '' },
  ], reporters.map((r) => {
    const silent = newest && Date.parse(newest) - Date.parse(r.last_received) > silentAfter;
    return h('tr', null,
      h('td', null, r.org_name, h('div', { class: 'note' }, r.reporter)),
      h('td', null, r.kind === 'dmarc' ? 'DMARC' : 'TLS'),
      h('td', { class: 'num' }, num(r.reports)),
      h('td', { title: dateTime(r.last_report) }, dateTime(r.last_report), h('div', { class: 'note' }, 'received ' + ago(r.last_received))),
      h('td', null, silent ? badge('silent', 'silent') : null));
  }), 'No reports received yet.');

  box.append(h('div', { class: 'grid two' },
    card('Top failing sources', 'Sending IPs with the most messages failing DMARC', failTable),
    card('Reporters', 'Who reports, and when each last did (all domains); silent: nothing for 3 days while others report', repTable)));
}

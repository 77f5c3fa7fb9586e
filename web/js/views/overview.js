// overview.js - a domain's period at a glance: figures, DMARC results and
// dispositions per day, volume, TLS sessions per day, the sources that
// fail most, and the reporters with when each last reported.

import { api, all } from '../api.js';
import { chart, stackedBars } from '../charts.js';
import * as state from '../state.js';
import { addDays, ago, badge, card, date, dateTime, dayLabel, h, num, pct, rateBar, table } from '../util.js';

const REPORTERS_SHOWN = 10;

// passing - messages that pass DMARC (DKIM or SPF aligned)
export const passing = (c) => c.outcome.both_aligned + c.outcome.dkim_aligned_only + c.outcome.spf_aligned_only;

function kpi(name, label, value, sub, tone) {
  return h('div', { class: 'kpi ' + (tone || ''), dataset: { kpi: name } },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value' }, value),
    h('div', { class: 'kpi-sub' }, sub || '\u00a0'));
}

// axis - the x axis of a per-day summary: the period's days (or the
// data's when unbounded), in buckets of a day, a week (past 120 days) or
// a month (past 3 years); buckets maps a bucket to its summed counts
function axis(s, groups, zero, add) {
  const r = state.range(s);
  const keys = groups.map((g) => g.key).filter(Boolean).sort();
  const first = r.first || keys[0];
  const last = r.last || keys[keys.length - 1];
  if (!first || !last) return { keys: [], labels: [], buckets: new Map(), unit: 'day' };
  const span = (Date.parse(last) - Date.parse(first)) / 86400000;
  const unit = span > 1100 ? 'month' : span > 120 ? 'week' : 'day';
  const bucketOf = (day) => {
    if (unit === 'month') return day.slice(0, 7) + '-01';
    if (unit === 'week') {
      const d = new Date(day + 'T00:00:00Z');
      return addDays(day, -((d.getUTCDay() + 6) % 7));
    }
    return day;
  };
  const out = [];
  for (let b = bucketOf(first); b <= last && out.length < 2000;) {
    out.push(b);
    b = unit === 'month' ? addMonth(b) : addDays(b, unit === 'week' ? 7 : 1);
  }
  const buckets = new Map(out.map((b) => [b, zero()]));
  for (const g of groups) {
    const b = buckets.get(bucketOf(g.key));
    if (b) add(b, g);
  }
  const fmt = unit === 'month' ? monthLabel : dayLabel;
  return { keys: out, labels: out.map(fmt), buckets, unit };
}

function addMonth(day) {
  const d = new Date(day + 'T00:00:00Z');
  d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 10);
}

const mf = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });
const monthLabel = (day) => mf.format(new Date(day + 'T00:00:00Z'));

const dmarcZero = () => ({
  messages: 0,
  outcome: { both_aligned: 0, dkim_aligned_only: 0, spf_aligned_only: 0, neither: 0 },
  disposition: { none: 0, quarantine: 0, reject: 0, other: 0 },
  by_disposition: Object.fromEntries(['none', 'quarantine', 'reject', 'other'].map((k) => [k, { pass: 0, fail: 0 }])),
});
function dmarcAdd(b, g) {
  b.messages += g.messages;
  for (const k of Object.keys(b.outcome)) b.outcome[k] += g.outcome[k];
  for (const k of Object.keys(b.disposition)) b.disposition[k] += g.disposition[k];
  for (const k of Object.keys(b.by_disposition)) {
    b.by_disposition[k].pass += g.by_disposition[k].pass;
    b.by_disposition[k].fail += g.by_disposition[k].fail;
  }
}
const tlsZero = () => ({ sessions: 0, successful: 0, failed: 0 });
function tlsAdd(b, g) {
  b.sessions += g.sessions;
  b.successful += g.successful;
  b.failed += g.failed;
}
const per = (unit) => (unit === 'day' ? 'per day' : unit === 'week' ? 'per week' : 'per month');

const SERIES = {
  result: [
    ['Both aligned', (g) => g.outcome.both_aligned, 'pass'],
    ['DKIM aligned only', (g) => g.outcome.dkim_aligned_only, 'pass-2'],
    ['SPF aligned only', (g) => g.outcome.spf_aligned_only, 'pass-3'],
    ['Fails DMARC', (g) => g.outcome.neither, 'fail'],
  ],
  // two bars a day, DMARC pass and DMARC fail, each stacked by
  // disposition (by_disposition of the summary)
  disposition: [['pass', 'passes DMARC'], ['fail', 'fails DMARC']].flatMap(([r, text]) => [
    ['none', 'Delivered (none)', 'pass'], ['quarantine', 'Quarantined', 'quarantine'],
    ['reject', 'Rejected', 'reject'], ['other', 'Other', 'neutral'],
  ].map(([d, label, c]) => [`${label} · ${text}`, (g) => g.by_disposition[d][r], c, r])),
};

function complianceChart(holder, ax, stack) {
  chart(holder, (stack === 'result' ? 'DMARC results ' : 'DMARC pass and fail by disposition ') + per(ax.unit), (color) =>
    stackedBars(ax.labels, SERIES[stack].map(([label, get, c, group]) => ({
      label, backgroundColor: color(c), data: ax.keys.map((k) => get(ax.buckets.get(k))),
      // a failing message's bar is hatched by its border: the same colour
      // for the same disposition, told apart from passing ones
      ...(group ? { stack: group } : {}),
      ...(group === 'fail' ? { borderWidth: 2, borderColor: color('fail'), borderSkipped: false } : {}),
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

  // DMARC per day, stacked by result, or pass and fail by disposition
  const ax = axis(s, dm.groups, dmarcZero, dmarcAdd);
  const stack = s.stack === 'disposition' ? 'disposition' : 'result';
  const compHolder = h('div', { class: 'chart tall', id: 'chart-compliance' });
  const segButton = (value, text) => h('button', {
    type: 'button', 'aria-pressed': String(stack === value),
    onclick: () => state.go({ ...s, stack: value === 'result' ? null : value }, true),
  }, text);
  const volHolder = h('div', { class: 'chart short', id: 'chart-volume' });
  const tax = axis(s, tl.groups, tlsZero, tlsAdd);
  const tlsHolder = h('div', { class: 'chart short', id: 'chart-tls' });
  const compCard = card('DMARC compliance', `Messages ${per(ax.unit)} by the DMARC result, or by what receivers did with them`, compHolder);
  compCard.querySelector('.card-head').append(h('div', { class: 'seg', role: 'group', 'aria-label': 'Stack by' },
    segButton('result', 'By result'), segButton('disposition', 'Pass/fail by disposition')));
  box.append(h('div', { class: 'grid two' }, compCard,
    h('div', { class: 'grid', style: null },
      card('Message volume', `Messages reported ${per(ax.unit)}`, volHolder),
      card('TLS sessions', `Successful and failed SMTP TLS sessions ${per(tax.unit)} (RFC 8460 reports)`, tlsHolder))));
  complianceChart(compHolder, ax, stack);
  chart(volHolder, 'Messages ' + per(ax.unit), (color) => ({
    type: 'line',
    data: {
      labels: ax.labels,
      datasets: [{
        label: 'Messages', data: ax.keys.map((k) => ax.buckets.get(k).messages),
        borderColor: color('accent'), backgroundColor: color('accent') + '33', fill: true, tension: 0.25, pointRadius: 0, borderWidth: 2,
      }],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { display: false } },
      scales: { x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  }));
  chart(tlsHolder, 'TLS sessions ' + per(tax.unit), (color) => stackedBars(tax.labels, [
    { label: 'Successful', backgroundColor: color('pass'), data: tax.keys.map((k) => tax.buckets.get(k).successful) },
    { label: 'Failed', backgroundColor: color('fail'), data: tax.keys.map((k) => tax.buckets.get(k).failed) },
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

  // a reporter is silent when its last report ends 3 days before the
  // newest report of its kind
  const newest = {};
  for (const r of rep.items) if (!newest[r.kind] || r.last_report > newest[r.kind]) newest[r.kind] = r.last_report;
  const silentAfter = 3 * 86400 * 1000;
  const reporters = [...rep.items].sort((a, b) => b.last_report.localeCompare(a.last_report));
  const shown = reporters.slice(0, REPORTERS_SHOWN);
  const repTable = table('Reporters', [
    { label: 'Reporter' }, { label: 'Kind' }, { label: 'Reports', num: true }, { label: 'Last report' },
  ], shown.map((r) => {
    const silent = Date.parse(newest[r.kind]) - Date.parse(r.last_report) > silentAfter;
    return h('tr', null,
      h('td', null, r.org_name, h('div', { class: 'note' }, r.reporter)),
      h('td', null, r.kind === 'dmarc' ? 'DMARC' : 'TLS'),
      h('td', { class: 'num' }, num(r.reports)),
      h('td', { title: dateTime(r.last_report) }, date(r.last_report), ' ', silent ? badge('silent', 'silent') : null,
        h('div', { class: 'note' }, ago(r.last_report))));
  }), 'No reports received yet.');

  box.append(h('div', { class: 'grid two' },
    card('Top failing sources', 'Sending IPs with the most messages failing DMARC', failTable),
    card('Reporters', 'Who reports and when each last did, all domains; silent: 3 days behind the newest report',
      repTable, reporters.length > shown.length ? h('p', { class: 'note' }, `and ${num(reporters.length - shown.length)} more, the longest silent last`) : null)));
}

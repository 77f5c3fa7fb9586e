// tls.js - SMTP TLS reports (RFC 8460): failed sessions by result type,
// receiving MX and sending MTA, and the reports with their policies as
// the reporter gave them.

import { api } from '../api.js';
import { chart } from '../charts.js';
import * as state from '../state.js';
import { badge, card, date, dateTime, h, num, pct, table } from '../util.js';

// failures - the groups of a summary that are failures, most first
function failures(summary) {
  return summary.groups.filter((g) => g.failed > 0).sort((a, b) => b.failed - a.failed);
}

function barChart(holder, label, groups, colorName) {
  const top = groups.slice(0, 12);
  holder.classList.toggle('short', top.length <= 4);
  chart(holder, label, (color) => ({
    type: 'bar',
    data: {
      labels: top.map((g) => g.key || '(not given)'),
      datasets: [{ label: 'Failed sessions', data: top.map((g) => g.failed), backgroundColor: color(colorName), borderRadius: 3 }],
    },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
    },
  }));
}

function policyBlock(pol) {
  return h('div', { class: 'policy-block' },
    h('div', null, badge(pol.policy_type), ' ', h('strong', null, pol.policy_domain || '–'),
      ` · ${num(pol.total_successful)} successful, ${num(pol.total_failure)} failed`),
    pol.mx_host.length ? h('div', { class: 'note' }, 'MX: ' + pol.mx_host.join(', ')) : null,
    pol.policy_string.length
      ? h('pre', { class: 'policy', 'aria-label': 'policy string as reported' }, pol.policy_string.join('\n'))
      : h('p', { class: 'note' }, 'No policy string (no-policy-found or not given).'),
    pol.failures.length ? table('Failure details', [
      { label: 'Result' }, { label: 'Sessions', num: true }, { label: 'Sending MTA' }, { label: 'Receiving MX' },
      { label: 'Receiving IP' }, { label: 'Details' },
    ], pol.failures.map((f) => h('tr', null,
      h('td', null, badge(f.result_type, 'fail')),
      h('td', { class: 'num' }, num(f.failed_session_count)),
      h('td', { class: 'mono' }, f.sending_mta_ip || '–'),
      h('td', null, f.receiving_mx_hostname || '–', f.receiving_mx_helo ? h('div', { class: 'note' }, 'HELO ' + f.receiving_mx_helo) : null),
      h('td', { class: 'mono' }, f.receiving_ip || '–'),
      h('td', null, [f.failure_reason_code, f.additional_information].filter(Boolean).join(' · ') || '–')))) : null);
}

async function detail(s, box) {
  const r = await api(`tlsrpt/reports/${encodeURIComponent(s.report)}`);
  box.append(h('a', { class: 'back', href: state.href({ ...s, report: null }) }, '← TLS overview'),
    h('div', { class: 'view-head' }, h('h1', null, `${r.organization_name}: TLS report`),
      h('p', null, `${date(r.begin)} – ${date(r.end)}`)));
  const ib = r.inbound_dkim;
  box.append(card('Report', null, h('dl', { class: 'facts' },
    h('div', null, h('dt', null, 'Report ID'), h('dd', { class: 'mono' }, r.report_id)),
    h('div', null, h('dt', null, 'Contact'), h('dd', null, r.contact_info || '–')),
    h('div', null, h('dt', null, 'Period'), h('dd', null, `${dateTime(r.begin)} – ${dateTime(r.end)}`)),
    h('div', null, h('dt', null, 'DKIM of the carrying mail'), h('dd', null, ib && ib.result
      ? h('span', null, badge(ib.result), ib.domain ? ` d=${ib.domain}` : '', ib.aligned ? ' (aligned)' : '')
      : 'not mailed (posted over HTTPS or imported)')),
    h('div', null, h('dt', null, 'Received'), h('dd', null, h('a', { href: state.href({ view: 'ingestion', id: r.inbound_id }) }, `inbound #${r.inbound_id}`))))));
  box.append(h('div', { class: 'detail' }, card('Policies', 'Policy strings exactly as the reporter gave them', r.policies.map(policyBlock))));
}

export default async function tls(s, box) {
  if (s.report) return detail(s, box);
  const q = state.query(s);
  const [byType, byMx, byMta, reports] = await Promise.all([
    api('tlsrpt/summary', { ...q, group_by: 'result_type' }),
    api('tlsrpt/summary', { ...q, group_by: 'receiving_mx_hostname' }),
    api('tlsrpt/summary', { ...q, group_by: 'sending_mta_ip' }),
    api('tlsrpt/reports', { ...q, limit: 100 }),
  ]);
  const t = byType.totals;
  box.append(h('div', { class: 'view-head' }, h('h1', null, 'TLS'),
    h('p', null, `${s.domain || 'all domains'} · ${num(t.sessions)} sessions, ${num(t.failed)} failed (${pct(t.failed, t.sessions)})`)));
  box.append(h('div', { class: 'kpis' },
    h('div', { class: 'kpi', dataset: { kpi: 'tls-sessions' } }, h('div', { class: 'kpi-label' }, 'Sessions'), h('div', { class: 'kpi-value' }, num(t.sessions))),
    h('div', { class: 'kpi good', dataset: { kpi: 'tls-successful' } }, h('div', { class: 'kpi-label' }, 'Successful'), h('div', { class: 'kpi-value' }, num(t.successful))),
    h('div', { class: 'kpi ' + (t.failed ? 'bad' : 'good'), dataset: { kpi: 'tls-failed' } }, h('div', { class: 'kpi-label' }, 'Failed'), h('div', { class: 'kpi-value' }, num(t.failed)),
      h('div', { class: 'kpi-sub' }, pct(t.failed, t.sessions) + ' of sessions'))));

  const types = failures(byType);
  const mxs = failures(byMx);
  const mtas = failures(byMta);
  const hType = h('div', { class: 'chart', id: 'chart-tls-type' });
  const hMx = h('div', { class: 'chart', id: 'chart-tls-mx' });
  box.append(h('div', { class: 'grid two' },
    card('Failures by result type', 'RFC 8460 4.3 result types', types.length ? hType : h('p', { class: 'empty' }, 'No failed sessions in this period.')),
    card('Failures by receiving MX', 'Which of your MX hosts the failures were at', mxs.length ? hMx : h('p', { class: 'empty' }, 'No failed sessions in this period.'))));
  if (types.length) barChart(hType, 'Failed sessions by result type', types, 'fail');
  if (mxs.length) barChart(hMx, 'Failed sessions by receiving MX', mxs, 'warn');

  box.append(h('div', { class: 'grid two' },
    card('Failures by sending MTA', 'The reporter\'s sending hosts that failed', table('Failures by sending MTA', [
      { label: 'Sending MTA' }, { label: 'Failed', num: true }, { label: 'Share', num: true },
    ], mtas.map((g) => h('tr', null, h('td', { class: 'mono' }, g.key || '(not given)'), h('td', { class: 'num' }, num(g.failed)),
      h('td', { class: 'num' }, pct(g.failed, t.failed)))), 'No failed sessions in this period.')),
    card('TLS reports', 'Newest first; open one for its policies and failure details', table('TLS reports', [
      { label: 'Reporter' }, { label: 'Period' }, { label: 'Policies' }, { label: 'Successful', num: true }, { label: 'Failed', num: true },
    ], reports.items.map((r) => {
      const ok = r.policies.reduce((n, p) => n + (p.total_successful || 0), 0);
      const bad = r.policies.reduce((n, p) => n + (p.total_failure || 0), 0);
      return h('tr', { dataset: { id: r.id } },
        h('td', null, h('a', { href: state.href({ ...s, report: r.id }) }, r.organization_name)),
        h('td', null, date(r.begin)),
        h('td', null, r.policies.map((p) => h('div', null, badge(p.policy_type), ' ', p.policy_domain || '–'))),
        h('td', { class: 'num' }, num(ok)),
        h('td', { class: 'num' }, bad ? h('strong', null, num(bad)) : '0'));
    }), 'No TLS reports in this period.'),
    reports.next_cursor ? h('p', { class: 'note' }, 'The 100 newest are shown; narrow the period for older ones.') : null)));
}

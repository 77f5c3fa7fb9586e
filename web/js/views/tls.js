// tls.js - SMTP TLS reports (RFC 8460): failed sessions by result type,
// receiving MX and sending MTA, and the reports with their policies as
// the reporter gave them.

import { api } from '../api.js';
import { chart } from '../charts.js';
import * as state from '../state.js';
import { badge, card, date, dateTime, h, num, pager, pct, span, table } from '../util.js';

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
      datasets: [{ label: 'Failed sessions', data: top.map((g) => g.failed), backgroundColor: color(colorName), borderRadius: 3, maxBarThickness: 28 }],
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
      h('p', null, span(r.begin, r.end))));
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
  const [byType, byMx, byMta, byPolicy, reports] = await Promise.all([
    api('tlsrpt/summary', { ...q, group_by: 'result_type' }),
    api('tlsrpt/summary', { ...q, group_by: 'receiving_mx_hostname' }),
    api('tlsrpt/summary', { ...q, group_by: 'sending_mta_ip' }),
    api('tlsrpt/summary', { ...q, group_by: 'policy_type' }),
    api('tlsrpt/reports', { ...q, limit: 25 }),
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
    card('Failures by sending MTA', 'The reporters\' sending hosts whose sessions failed', table('Failures by sending MTA', [
      { label: 'Sending MTA' }, { label: 'Failed', num: true }, { label: 'Share', num: true },
    ], [...mtas.map((g) => h('tr', null, h('td', { class: 'mono' }, g.key || '(not given)'), h('td', { class: 'num' }, num(g.failed)),
      h('td', { class: 'num' }, pct(g.failed, t.failed)))),
    // past the API's first 1000 groups the rest come summed
    byMta.other && byMta.other.failed ? h('tr', null, h('td', { class: 'note' }, 'all others'),
      h('td', { class: 'num' }, num(byMta.other.failed)), h('td', { class: 'num' }, pct(byMta.other.failed, t.failed))) : null,
    ].filter(Boolean), 'No failed sessions in this period.')),
    card('Failures by policy', 'Sessions under each policy type (RFC 8460 4.3)', table('Sessions by policy type', [
      { label: 'Policy' }, { label: 'Sessions', num: true }, { label: 'Failed', num: true }, { label: 'Failure rate', num: true },
    ], byPolicy.groups.map((g) => h('tr', null, h('td', null, badge(g.key || '–', '')), h('td', { class: 'num' }, num(g.sessions)),
      h('td', { class: 'num' }, num(g.failed)), h('td', { class: 'num' }, pct(g.failed, g.sessions)))), 'No TLS reports in this period.'))));

  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  box.append(card('TLS reports', 'Newest first; open one for its policies, as the reporter gave them, and its failure details',
    h('div', { class: 'table-wrap' }, h('table', null,
      h('thead', null, h('tr', null, ['Reporter', 'Period', 'Policies', 'Successful', 'Failed']
        .map((l, i) => h('th', { scope: 'col', class: i >= 3 ? 'num' : null }, l)))),
      tbody)), more));
  let count = 0;
  const page = async (cursor) => {
    const p = cursor ? await api('tlsrpt/reports', { ...q, limit: 25, cursor }) : reports;
    count += p.items.length;
    tbody.append(...p.items.map((r) => {
      const ok = r.policies.reduce((n, x) => n + (x.total_successful || 0), 0);
      const bad = r.policies.reduce((n, x) => n + (x.total_failure || 0), 0);
      return h('tr', { dataset: { id: r.id } },
        h('td', null, h('a', { href: state.href({ ...s, report: r.id }) }, r.organization_name)),
        h('td', null, span(r.begin, r.end)),
        h('td', null, r.policies.map((x) => h('span', null, badge(x.policy_type), ' ', x.policy_domain || '–', ' '))),
        h('td', { class: 'num' }, num(ok)),
        h('td', { class: 'num' }, bad ? h('strong', null, num(bad)) : '0'));
    }));
    more.replaceChildren(...pager(count ? `${num(count)} reports shown` : 'No TLS reports in this period.', p.next_cursor, page));
  };
  await page(null);
}

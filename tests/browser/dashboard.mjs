// dashboard.mjs - the dashboard in a real browser: Debian's chromium,
// headless, driven by playwright-core (tests/browser/package-lock.json),
// against a real `ruad serve` and PostgreSQL that tests/integration/
// test_web.py starts and loads (the demo month, the samples).
//
// Checks: a wrong token in the #token= link shows a clear message, the
// form then takes a good one; a good #token= link leaves the address bar
// and lands in sessionStorage; each view loads with no console error (a
// CSP violation is one) and shows the API's numbers (asked here with the
// same filters); a filter change (domain, period, stacking) updates the
// URL and the charts' data (pass and fail by disposition equal the
// summary's by_disposition); a click on a source shows its records (the
// API's dmarc/records for that address and period); a
// report's detail shows its records and the DKIM verdict of its mail; a
// TLS report shows its policy strings as given; reprocess says 403 to a
// read token and queues the row with a write token; keyboard navigation;
// no sideways scrolling at phone width; dark scheme.  Screenshots of each
// view go to $RUAD_ARTIFACTS.
//
// Prints "ok - ..." or "not ok - ..." per check and a closing line
// "dashboard: N passed, M failed"; exits 1 on a failure.
//
// Environment: RUAD_URL (https://127.0.0.1:PORT/), RUAD_TOKEN_READ,
// RUAD_TOKEN_WRITE, RUAD_ARTIFACTS, RUAD_DEMO_END and RUAD_DEMO_DAYS (the
// demo month: epoch day after its last day, and its length).

import { chromium, request } from 'playwright-core';
import path from 'node:path';

const BASE = process.env.RUAD_URL;
const READ = process.env.RUAD_TOKEN_READ;
const WRITE = process.env.RUAD_TOKEN_WRITE;
const ARTIFACTS = process.env.RUAD_ARTIFACTS || '.';
const END = Number(process.env.RUAD_DEMO_END || 0);
const DAYS = Number(process.env.RUAD_DEMO_DAYS || 30);
const day = (n) => new Date(n * 86400000).toISOString().slice(0, 10);
const SINCE = day(END - DAYS);
const UNTIL = day(END - 1);               // inclusive in the dashboard
const UNTIL_X = day(END);                 // exclusive in the API
const PERIOD = `period=custom&since=${SINCE}&until=${UNTIL}`;
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'];

let passed = 0;
let failed = 0;

function check(cond, what) {
  if (cond) passed++;
  else failed++;
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
  return cond;
}

const digits = (s) => Number(String(s).replace(/[^0-9]/g, ''));

// ---- the API, asked directly ----

const apiCtx = await request.newContext({
  baseURL: BASE, ignoreHTTPSErrors: true, extraHTTPHeaders: { Authorization: 'Bearer ' + READ },
});

async function api(p, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined));
  const r = await apiCtx.get(`api/v1/${p}${q.size ? '?' + q : ''}`);
  if (!r.ok()) throw new Error(`API ${p}: ${r.status()}`);
  return r.json();
}

async function apiAll(p, params) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(p, { ...params, limit: 1000, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// ---- the browser ----

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });

// page - a new tab that records console errors, page errors and CSP
// violations
async function page(opts = {}) {
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 }, colorScheme: 'light', ...opts,
  });
  const p = await ctx.newPage();
  p.errors = [];
  p.on('console', (m) => { if (m.type() === 'error') p.errors.push(m.text()); });
  p.on('pageerror', (e) => p.errors.push('pageerror: ' + e.message));
  return p;
}

const renders = (p) => p.evaluate(() => Number(document.body.dataset.renders || 0));

// settle - wait until the dashboard finished a render after `after`
// renders (or shows the login form)
async function settle(p, after = -1) {
  await p.waitForFunction((n) => {
    const b = document.body.dataset;
    return b.state === 'login' || b.state === 'error' || (b.state === 'ready' && Number(b.renders || 0) > n);
  }, after, { timeout: 30000 });
}

async function act(p, fn) {
  const n = await renders(p);
  await fn();
  await settle(p, n);
}

async function shot(p, name) {
  await p.screenshot({ path: path.join(ARTIFACTS, `web-${name}.png`), fullPage: true });
}

const kpi = async (p, name) => digits(await p.textContent(`[data-kpi="${name}"] .kpi-value`));

// chartSum - the sum of every dataset of the chart in holder
const chartSum = (p, holder) => p.evaluate((sel) => {
  const c = window.Chart.getChart(document.querySelector(sel + ' canvas'));
  return c ? c.data.datasets.reduce((n, d) => n + d.data.reduce((a, b) => a + b, 0), 0) : -1;
}, holder);
const chartLabels = (p, holder) => p.evaluate((sel) => {
  const c = window.Chart.getChart(document.querySelector(sel + ' canvas'));
  return c ? c.data.datasets.map((d) => d.label) : [];
}, holder);

// chartSeries - [label, stack, sum] of each dataset of the chart in holder
const chartSeries = (p, holder) => p.evaluate((sel) => {
  const c = window.Chart.getChart(document.querySelector(sel + ' canvas'));
  return c ? c.data.datasets.map((d) => [d.label, d.stack, d.data.reduce((a, b) => a + b, 0)]) : [];
}, holder);

// clean - no console error so far, and no "null", "undefined" or "NaN"
// where a value should be
async function clean(p, what) {
  check(p.errors.length === 0, `${what}: no console error${p.errors.length ? ': ' + p.errors.slice(0, 3).join(' | ') : ''}`);
  p.errors.length = 0;
  const text = await p.innerText('main');
  const bad = /\b(null|undefined|NaN|\[object Object\])\b/.exec(text);
  check(!bad, `${what}: every value rendered${bad ? ` ("${text.slice(Math.max(0, bad.index - 40), bad.index + 20)}")` : ''}`);
}

try {
  // ---- a wrong token, then the form ----
  {
    const p = await page();
    await p.goto(BASE + '#token=not-a-token');
    await settle(p);
    const state = await p.evaluate(() => document.body.dataset.state);
    check(state === 'login', `wrong token: the token form is shown (${state})`);
    const msg = (await p.textContent('#login-error')) || '';
    check(await p.isVisible('#login-error') && /did not accept this token/.test(msg) && /ruad token new/.test(msg),
      `wrong token: a clear message: "${msg}"`);
    check(!p.url().includes('token'), `wrong token: the token left the address bar (${p.url()})`);
    await shot(p, 'wrong-token');
    await p.fill('#login-token', READ);
    await act(p, () => p.click('#login-form button[type=submit]'));
    check(await p.isHidden('#login') && (await p.evaluate(() => document.body.dataset.view)) === 'overview',
      'the token form takes a good token and opens the overview');
    check((await p.evaluate(() => sessionStorage.getItem('ruad.token'))) === READ, 'the token is kept in sessionStorage');
    await p.context().close();
  }

  // ---- a good #token= link, then every view ----
  const p = await page();
  await p.goto(`${BASE}?${PERIOD}#token=${encodeURIComponent(READ)}`);
  await settle(p);
  check(!p.url().includes('#') && !p.url().includes(READ), `#token= is removed from the address bar (${p.url()})`);
  check((await p.evaluate(() => sessionStorage.getItem('ruad.token'))) === READ, '#token= lands in sessionStorage');
  // keyboard: the skip link first
  await p.keyboard.press('Tab');
  check(await p.evaluate(() => document.activeElement.classList.contains('skip')), 'Tab reaches the skip link first');

  // overview
  const q = { since: SINCE, until: UNTIL_X };
  const dm = await api('dmarc/summary', { ...q, group_by: 'day' });
  const tl = await api('tlsrpt/summary', { ...q, group_by: 'day' });
  check(dm.totals.messages > 1000, `the API has the demo month (${dm.totals.messages} messages)`);
  check(await kpi(p, 'messages') === dm.totals.messages, `overview: messages ${await kpi(p, 'messages')} = API ${dm.totals.messages}`);
  check(await kpi(p, 'fail') === dm.totals.outcome.neither, `overview: failing ${await kpi(p, 'fail')} = API ${dm.totals.outcome.neither}`);
  check(await kpi(p, 'enforced') === dm.totals.disposition.quarantine + dm.totals.disposition.reject,
    'overview: quarantined or rejected = API');
  check(await kpi(p, 'tls-sessions') === tl.totals.sessions, `overview: TLS sessions ${await kpi(p, 'tls-sessions')} = API ${tl.totals.sessions}`);
  check(await kpi(p, 'tls-failed') === tl.totals.failed, 'overview: TLS failures = API');
  check(await chartSum(p, '#chart-compliance') === dm.totals.messages, 'overview: the compliance chart adds up to the API\'s messages');
  check(await chartSum(p, '#chart-volume') === dm.totals.messages, 'overview: the volume chart adds up to the API\'s messages');
  check(await chartSum(p, '#chart-tls') === tl.totals.successful + tl.totals.failed, 'overview: the TLS chart adds up to the API\'s sessions');
  const sources = await apiAll('dmarc/sources', q);
  const worst = sources.map((x) => ({ ...x, f: x.messages - x.dmarc_pass })).sort((a, b) => b.f - a.f)[0];
  const firstFail = await p.textContent('.view table tbody tr:first-child td:first-child');
  check(worst && firstFail.trim() === (worst.source_ip || '(not an address)'),
    `overview: the top failing source is the API's (${firstFail.trim()})`);
  await clean(p, 'overview');
  await shot(p, 'overview');

  // filters: domain, period, stacking
  const domains = (await api('domains')).items.map((d) => d.domain);
  const dom = domains.includes('example.org') ? 'example.org' : domains[0];
  await act(p, () => p.selectOption('#f-domain', dom));
  check(new URL(p.url()).searchParams.get('domain') === dom, `domain filter: the URL says domain=${dom} (${p.url()})`);
  const dmd = await api('dmarc/summary', { ...q, domain: dom, group_by: 'day' });
  check(await kpi(p, 'messages') === dmd.totals.messages && dmd.totals.messages !== dm.totals.messages,
    `domain filter: messages ${await kpi(p, 'messages')} = API ${dmd.totals.messages}`);
  check(await chartSum(p, '#chart-compliance') === dmd.totals.messages, 'domain filter: the chart is redrawn with the domain\'s data');
  await act(p, () => p.click('.seg button:nth-child(2)'));
  check(new URL(p.url()).searchParams.get('stack') === 'disposition', 'stacking by disposition is in the URL');
  check((await chartLabels(p, '#chart-compliance')).includes('Quarantined · fails DMARC') &&
    await chartSum(p, '#chart-compliance') === dmd.totals.messages, 'the chart is stacked by disposition, same total');
  // pass and fail by disposition: each series sums to the API's cross-tab
  const series = await chartSeries(p, '#chart-compliance');
  const cross = [];
  for (const [r, text] of [['pass', 'passes DMARC'], ['fail', 'fails DMARC']]) {
    for (const [d, label] of [['none', 'Delivered (none)'], ['quarantine', 'Quarantined'], ['reject', 'Rejected'], ['other', 'Other']]) {
      cross.push([`${label} · ${text}`, r, dmd.totals.by_disposition[d][r]]);
    }
  }
  check(JSON.stringify(series) === JSON.stringify(cross) && cross.some(([, r, n]) => r === 'fail' && n > 0) &&
    cross.some(([, r, n]) => r === 'pass' && n > 0),
  `the chart's pass and fail by disposition are the API's by_disposition (${JSON.stringify(series)})`);
  await act(p, () => p.selectOption('#f-period', '7'));
  check(new URL(p.url()).searchParams.get('period') === '7', `period filter: the URL says period=7 (${p.url()})`);
  const last7 = await api('dmarc/summary', {
    domain: dom, since: new Date(Date.now() - 6 * 86400000).toISOString().slice(0, 10),
    until: new Date(Date.now() + 86400000).toISOString().slice(0, 10),
  });
  check(await kpi(p, 'messages') === last7.totals.messages, `period filter: messages ${await kpi(p, 'messages')} = API ${last7.totals.messages}`);
  await clean(p, 'filters');
  // back to the demo month, all domains (the history works)
  await act(p, () => p.goBack());
  await act(p, () => p.goBack());
  check(await kpi(p, 'messages') === dm.totals.messages, 'Back returns to the earlier filters and numbers');

  // keyboard: a view by Enter
  await p.focus('nav.views a[data-view="sources"]');
  await act(p, () => p.keyboard.press('Enter'));
  check(new URL(p.url()).searchParams.get('view') === 'sources', 'Enter on a view link opens it');

  // sources
  const rows = await p.$$eval('.view table tbody tr', (trs) => trs.map((tr) => [tr.dataset.ip, tr.children[1].textContent]));
  const byVolume = [...sources].sort((a, b) => b.messages - a.messages);
  check(rows.length === sources.length, `sources: ${rows.length} rows = API ${sources.length}`);
  check(rows.length > 0 && rows[0][0] === (byVolume[0].source_ip || '') && digits(rows[0][1]) === byVolume[0].messages,
    `sources: the first row is the API's biggest sender (${rows[0] && rows[0][0]})`);
  await clean(p, 'sources');
  await shot(p, 'sources');
  await act(p, () => p.click('.view table tbody tr:first-child button.row-link'));
  check(new URL(p.url()).searchParams.get('ip') === byVolume[0].source_ip, 'a click on a source puts it in the URL');
  const recRows = await p.$$eval('#source-detail table tbody tr', (trs) => trs.map((tr) =>
    [tr.dataset.report, tr.dataset.rec, tr.children[1].textContent, tr.children[2].textContent.trim()]));
  const note = (await p.textContent('#records-note')) || '';
  const apiRecs = await apiAll('dmarc/records', { ...q, source_ip: byVolume[0].source_ip });
  check(recRows.length > 0 && digits(note.split(' ')[0]) === recRows.length,
    `the source's records are shown (${recRows.length}: "${note.slice(0, 80)}")`);
  const shown = JSON.stringify(recRows.map(([r, n, c, d]) => [r, n, digits(c), d]));
  const want = JSON.stringify(apiRecs.map((r) => [String(r.report), String(r.rec_no), r.count || 0, r.disposition || '–']));
  check(recRows.length === apiRecs.length && shown === want,
    `the source's records are the API's dmarc/records, in order (${recRows.length} = API ${apiRecs.length})`);
  const msgs = apiRecs.reduce((n, r) => n + (r.count || 0), 0);
  check(digits((/([\d,.\s]+) messages/.exec(note) || [])[1]) === msgs, `the records' messages are the API's (${msgs})`);
  await clean(p, 'source records');
  await shot(p, 'sources-records');

  // DMARC reports
  await act(p, () => p.click('nav.views a[data-view="dmarc"]'));
  const reps = await api('dmarc/reports', { ...q, limit: 50 });
  const ids = await p.$$eval('.view table tbody tr', (trs) => trs.map((tr) => tr.dataset.id));
  check(ids.length === reps.items.length && ids[0] === String(reps.items[0].id),
    `DMARC reports: ${ids.length} rows, the API's first page, newest first`);
  await clean(p, 'DMARC reports');
  await shot(p, 'dmarc');
  await act(p, () => p.click('.view table tbody tr:first-child td:first-child a'));
  const rid = new URL(p.url()).searchParams.get('report');
  const detail = await api(`dmarc/reports/${rid}`);
  const recs = await p.$$('.detail table tbody tr');
  check(rid === String(reps.items[0].id) && recs.length === detail.records.length,
    `DMARC report ${rid}: ${recs.length} records = API ${detail.records.length}`);
  await clean(p, 'DMARC report');
  await shot(p, 'dmarc-report');
  // a mailed report: the DKIM verdict of its mail
  const all = await apiAll('dmarc/reports', {});
  const mailed = all.find((r) => r.dkim && r.dkim.result);
  if (check(Boolean(mailed), 'a DMARC report that came by mail is stored')) {
    await p.goto(`${BASE}?view=dmarc&report=${mailed.id}`);
    await settle(p);
    const d = await api(`dmarc/reports/${mailed.id}`);
    const fact = await p.textContent('dl.facts');
    check(fact.includes('DKIM of the carrying mail') && d.inbound_dkim &&
      fact.includes(d.inbound_dkim.result) && (!d.inbound_dkim.domain || fact.includes(d.inbound_dkim.domain)),
    `DMARC report ${mailed.id}: the DKIM verdict of its mail (${d.inbound_dkim && d.inbound_dkim.result})`);
    await clean(p, 'mailed DMARC report');
    await shot(p, 'dmarc-report-mailed');
  }

  // TLS
  await p.goto(`${BASE}?view=tls&${PERIOD}`);
  await settle(p);
  const byType = await api('tlsrpt/summary', { ...q, group_by: 'result_type' });
  const byMta = await api('tlsrpt/summary', { ...q, group_by: 'sending_mta_ip' });
  check(await kpi(p, 'tls-sessions') === byType.totals.sessions && await kpi(p, 'tls-failed') === byType.totals.failed &&
    await kpi(p, 'tls-successful') === byType.totals.successful, 'TLS: sessions, successful and failed = API');
  const failedTypes = byType.groups.filter((g) => g.failed > 0);
  check(await chartSum(p, '#chart-tls-type') === failedTypes.reduce((n, g) => n + g.failed, 0) || failedTypes.length > 12,
    'TLS: the result-type chart adds up to the API\'s failures');
  const mtaRows = await p.$$eval('.view .card', (cards) => {
    const c = cards.find((x) => x.querySelector('h2').textContent === 'Failures by sending MTA');
    return c ? c.querySelectorAll('tbody tr').length : -1;
  });
  check(mtaRows === byMta.groups.filter((g) => g.failed > 0).length, `TLS: ${mtaRows} sending MTAs = API`);
  await clean(p, 'TLS');
  await shot(p, 'tls');
  const tlsAll = await apiAll('tlsrpt/reports', {});
  let withPolicy = null;
  for (const r of tlsAll.slice(0, 200)) {
    const d = await api(`tlsrpt/reports/${r.id}`);
    if (d.policies.some((x) => x.policy_string.length > 1) && d.policies.some((x) => x.failures.length)) { withPolicy = d; break; }
  }
  if (check(Boolean(withPolicy), 'a TLS report with a policy string and failures is stored')) {
    await p.goto(`${BASE}?view=tls&report=${withPolicy.id}`);
    await settle(p);
    const pres = await p.$$eval('pre.policy', (els) => els.map((e) => e.textContent));
    const want = withPolicy.policies.filter((x) => x.policy_string.length).map((x) => x.policy_string.join('\n'));
    check(JSON.stringify(pres) === JSON.stringify(want), `TLS report ${withPolicy.id}: policy strings as given`);
    await clean(p, 'TLS report');
    await shot(p, 'tls-report');
  }

  // ingestion
  await p.goto(`${BASE}?view=ingestion`);
  await settle(p);
  const inbound = await api('inbound', { limit: 100 });
  const inIds = await p.$$eval('.view table tbody tr', (trs) => trs.map((tr) => tr.dataset.id));
  check(inIds.length === inbound.items.length && inIds[0] === String(inbound.items[0].id),
    `ingestion: ${inIds.length} rows = the API's first page`);
  await clean(p, 'ingestion');
  await shot(p, 'ingestion');
  await act(p, () => p.selectOption('.inline-filters select[name=state]', 'malformed'));
  check(new URL(p.url()).searchParams.get('state') === 'malformed', 'ingestion: the state filter is in the URL');
  const bad = await api('inbound', { state: 'malformed' });
  const badRows = await p.$$('.view table tbody tr');
  check(bad.items.length > 0 && badRows.length === bad.items.length, `ingestion: ${badRows.length} malformed rows = API`);
  await shot(p, 'ingestion-malformed');
  await clean(p, 'malformed rows');
  // reprocess: refused to the read token (a 403 in the console is expected)
  await p.click('.view table tbody tr:first-child button.reprocess');
  await p.waitForSelector('.view table tbody tr:first-child .msg');
  const refused = await p.textContent('.view table tbody tr:first-child .msg');
  check(/403/.test(refused) && /--scope write/.test(refused), `reprocess with a read token: "${refused}"`);
  await p.context().close();

  // ... and done with a write token
  {
    const w = await page();
    await w.goto(`${BASE}?view=ingestion&state=malformed#token=${encodeURIComponent(WRITE)}`);
    await settle(w);
    const id = await w.getAttribute('.view table tbody tr:first-child', 'data-id');
    const find = async () => (await api('inbound', { state: null, limit: 1000 })).items.find((x) => String(x.id) === id);
    const before = await find();
    await w.click('.view table tbody tr:first-child button.reprocess');
    await w.waitForSelector('.view table tbody tr:first-child .msg');
    const okMsg = await w.textContent('.view table tbody tr:first-child .msg');
    check(/Queued again/.test(okMsg), `reprocess with a write token: "${okMsg}"`);
    let after = null;
    for (let i = 0; i < 60; i++) {
      after = await find();
      if (after && (after.processed_at !== before.processed_at || ['pending', 'processing'].includes(after.state))) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    check(after && (after.processed_at !== before.processed_at || ['pending', 'processing'].includes(after.state)),
      `inbound ${id} was run again (now ${after && after.state}, processed ${after && after.processed_at})`);
    await clean(w, 'reprocess');
    await shot(w, 'ingestion-reprocessed');
    await w.context().close();
  }

  // phone width and dark scheme
  {
    const m = await page({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    for (const v of ['overview', 'sources', 'tls', 'ingestion']) {
      await m.goto(`${BASE}?view=${v}&${PERIOD}#token=${encodeURIComponent(READ)}`);
      await settle(m);
      const sw = await m.evaluate(() => document.documentElement.scrollWidth);
      check(sw <= 390, `${v} at phone width: no sideways scrolling (${sw}px)`);
      if (v === 'overview' || v === 'sources') await shot(m, `${v}-phone`);
    }
    await clean(m, 'phone width');
    await m.context().close();
    const d = await page({ colorScheme: 'dark' });
    await d.goto(`${BASE}?${PERIOD}#token=${encodeURIComponent(READ)}`);
    await settle(d);
    const bg = await d.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    check(r + g + b < 120, `dark scheme: a dark background (${bg})`);
    await clean(d, 'dark scheme');
    await shot(d, 'overview-dark');
    await d.context().close();
  }
} catch (e) {
  check(false, 'the browser test ran to its end: ' + (e.stack || e));
} finally {
  await browser.close();
  await apiCtx.dispose();
}

console.log(`dashboard: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// main.js - the dashboard: token, filters, and the view the URL names.
//
// Views are modules in views/; each gets the state (state.js) and an
// attached, empty element to fill, and may render in steps.  When the
// view is done, <body data-state="ready"> says so (the browser tests wait
// for it).

import { api, token, takeFragmentToken } from './api.js';
import { releaseAll } from './charts.js';
import * as state from './state.js';
import { addDays, errorBox, h, today } from './util.js';
import overview from './views/overview.js';
import sources from './views/sources.js';
import dmarc from './views/dmarc.js';
import tls from './views/tls.js';
import ingestion from './views/ingestion.js';

const views = { overview, sources, dmarc, tls, ingestion };
const titles = {
  overview: 'Overview', sources: 'Sources', dmarc: 'DMARC reports', tls: 'TLS', ingestion: 'Ingestion',
};
const $ = (sel) => document.querySelector(sel);
let renderSeq = 0;
let started = false;

function showLogin(message) {
  releaseAll();
  $('#login').hidden = false;
  $('#signout').hidden = true;
  const err = $('#login-error');
  err.hidden = !message;
  err.textContent = message || '';
  document.body.dataset.state = 'login';
  const input = $('#login-token');
  input.value = '';
  input.focus();
}

async function start() {
  $('#login').hidden = true;
  $('#signout').hidden = false;
  document.body.dataset.state = 'loading';
  let domains;
  try {
    domains = await api('domains');
  } catch (e) {
    if (e.status === 401) return; // the login form is up already
    $('#main').replaceChildren(errorBox(e));
    document.body.dataset.state = 'error';
    return;
  }
  const sel = $('#f-domain');
  sel.replaceChildren(h('option', { value: '' }, 'All domains'),
    ...domains.items.map((d) => h('option', { value: d.domain }, d.domain)));
  started = true;
  render();
}

function syncFilters(s) {
  const sel = $('#f-domain');
  if (s.domain && ![...sel.options].some((o) => o.value === s.domain)) {
    sel.append(h('option', { value: s.domain }, s.domain));
  }
  sel.value = s.domain || '';
  $('#f-period').value = s.period;
  const r = state.range(s);
  for (const el of document.querySelectorAll('.filters .custom')) el.hidden = s.period !== 'custom';
  $('#f-since').value = r.first || '';
  $('#f-until').value = r.last || '';
  $('#period-note').textContent = r.first
    ? `${r.first} to ${r.last || 'today'} (UTC)` : (r.last ? `until ${r.last}` : 'all reports');
  for (const a of document.querySelectorAll('.views a')) {
    if (a.dataset.view === s.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    a.href = state.href({ view: a.dataset.view, domain: s.domain, period: s.period, since: s.since, until: s.until });
  }
}

async function render() {
  if (!started) return;
  const s = state.read();
  syncFilters(s);
  releaseAll();
  const seq = ++renderSeq;
  const box = h('div', { class: 'view', dataset: { view: s.view } });
  const main = $('#main');
  main.replaceChildren(box);
  document.title = `${titles[s.view]} · ruad`;
  document.body.dataset.state = 'loading';
  document.body.dataset.view = s.view;
  main.setAttribute('aria-busy', 'true');
  try {
    await views[s.view](s, box);
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e.status === 401) return;
    box.append(errorBox(e));
    console.warn('ruad:', e.message);
  }
  if (seq !== renderSeq) return;
  main.removeAttribute('aria-busy');
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  document.body.dataset.state = 'ready';
}

function wire() {
  window.addEventListener('popstate', render);
  window.addEventListener('ruad-navigate', render);
  window.addEventListener('ruad-unauthorized', (e) => {
    token.clear();
    started = false;
    showLogin(e.detail.message);
  });
  $('#login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('#login-token').value.trim();
    if (!t) return;
    token.set(t);
    start();
  });
  $('#signout').addEventListener('click', () => {
    token.clear();
    started = false;
    showLogin();
  });
  $('#filters').addEventListener('submit', (e) => e.preventDefault());
  $('#filters').addEventListener('change', (e) => {
    const s = state.read();
    const t = e.target;
    const next = { ...s };
    delete next.ip; delete next.report; delete next.cursor;
    if (t.id === 'f-domain') next.domain = t.value;
    if (t.id === 'f-period') {
      next.period = t.value;
      if (t.value === 'custom') {
        const r = state.range(s);
        next.since = r.first || addDays(today(), -29);
        next.until = r.last || today();
      }
    }
    if (t.id === 'f-since' || t.id === 'f-until') {
      next.period = 'custom';
      next[t.id === 'f-since' ? 'since' : 'until'] = t.value;
    }
    state.go(next);
  });
  // links to another view or filter of this page: no reload
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download') || e.defaultPrevented || e.button !== 0 ||
      e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const u = new URL(a.href, location.href);
    if (u.origin !== location.origin || u.pathname !== location.pathname) return;
    e.preventDefault();
    history.pushState(null, '', u.pathname + u.search);
    render();
    $('#main').focus({ preventScroll: true });
  });
}

wire();
takeFragmentToken();
if (token.get()) start();
else showLogin();

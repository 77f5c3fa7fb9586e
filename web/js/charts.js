// charts.js - Chart.js (web/package-lock.json pins it; the build copies
// it to vendor/) with the page's palette, redrawn when the colour scheme
// changes.

const live = new Set();

export function color(name) {
  return getComputedStyle(document.documentElement).getPropertyValue('--' + name).trim();
}

function themed(options) {
  const text = color('muted');
  const grid = color('chart-grid');
  const o = options;
  o.color = text;
  for (const axis of Object.values(o.scales || {})) {
    axis.ticks = { color: text, ...(axis.ticks || {}) };
    axis.grid = { color: grid, ...(axis.grid || {}) };
    axis.border = { display: false };
  }
  o.plugins = o.plugins || {};
  o.plugins.legend = { labels: { color: text, boxWidth: 12, boxHeight: 12, useBorderRadius: true, borderRadius: 3 }, ...(o.plugins.legend || {}) };
  return o;
}

// chart - a Chart in a new canvas inside holder; make(palette) returns
// the Chart.js config, so a scheme change can rebuild it
export function chart(holder, label, make) {
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  holder.replaceChildren(canvas);
  const cfg = make(color);
  cfg.options = themed({ responsive: true, maintainAspectRatio: false, animation: false, ...(cfg.options || {}) });
  const c = new window.Chart(canvas, cfg);
  const entry = { c, canvas, make, holder, label };
  live.add(entry);
  return c;
}

// releaseAll - destroy the charts of the view being left
export function releaseAll() {
  for (const e of live) e.c.destroy();
  live.clear();
}

window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  for (const e of [...live]) {
    live.delete(e);
    e.c.destroy();
    chart(e.holder, e.label, e.make);
  }
});

export function stackedBars(labels, datasets, extra = {}) {
  return {
    type: 'bar',
    data: { labels, datasets: datasets.map((d) => ({ borderWidth: 0, borderRadius: 2, ...d })) },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
      },
      ...extra,
    },
  };
}

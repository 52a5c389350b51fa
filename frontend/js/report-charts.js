// The Reports window's charts (issue 18): daily volumes, the response-time distribution and the funnel drawn by
// uPlot (npm, served by ZapPool at /ui/vendor/uplot/), and the week x hour heatmap as a table whose cells are
// shaded by class (a grid of numbers reads better as a table, and stays accessible). No hand-drawn canvas.

import uPlot from '/ui/vendor/uplot/uPlot.esm.js';
import { el } from './dom.js';
import { t } from './i18n.js';

const COLORS = ['#5b3cc4', '#1a9c5b', '#e0a100', '#c62828'];
const charts = new Map(); // container id -> uPlot, replaced on each load

function width(box) {
  return Math.max(280, box.clientWidth || box.parentElement.clientWidth || 600);
}

/** A bar chart: `labels` along x, one bar series per entry of `series` ({label, values}); a second series is
 * drawn narrower over the first (e.g. first responses inside all responses). */
export function barChart(id, labels, series, { height = 240 } = {}) {
  const box = document.getElementById(id);
  charts.get(id)?.destroy();
  const x = labels.map((_, i) => i);
  const options = {
    width: width(box), height,
    scales: { x: { time: false, range: [-0.6, labels.length - 0.4] },
              y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{ values: (u, ticks) => ticks.map((v) => (Number.isInteger(v) ? labels[v] ?? '' : '')), splits: () => x },
           {}],
    series: [{ label: t('reports.bucket'), value: (u, v) => labels[v] ?? '—' }, ...series.map((s, i) => ({
      label: s.label, fill: COLORS[i % COLORS.length], stroke: COLORS[i % COLORS.length], width: 0,
      paths: uPlot.paths.bars({ size: [i === 0 ? 0.8 : 0.4, 80] }), points: { show: false } }))],
  };
  const chart = new uPlot(options, [x, ...series.map((s) => s.values)], box);
  charts.set(id, chart);
  return chart;
}

/** A line chart of daily figures: `days` (ISO dates) along x. */
export function dailyChart(id, days, series, { height = 260 } = {}) {
  const box = document.getElementById(id);
  charts.get(id)?.destroy();
  const x = days.map((_, i) => i);
  const options = {
    width: width(box), height,
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{ values: (u, ticks) => ticks.map((v) => (Number.isInteger(v) ? (days[v] || '').slice(5) : '')) }, {}],
    series: [{ label: t('reports.day'), value: (u, v) => days[v] ?? '—' },
             ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2,
                                            points: { show: days.length <= 40 } }))],
  };
  const chart = new uPlot(options, [x, ...series.map((s) => s.values)], box);
  charts.set(id, chart);
  return chart;
}

/** The week x hour heatmap: one row per weekday, one cell per hour, shaded in six steps of the busiest cell. */
export function heatmapTable(id, rows) {
  const most = Math.max(1, ...rows.map((r) => r.incoming));
  const names = t('reports.weekdays').split(',');
  const head = el('tr', {}, el('th', { scope: 'col', text: t('reports.hour') }),
                  ...Array.from({ length: 24 }, (_, h) => el('th', { scope: 'col', text: String(h) })));
  const body = names.map((name, d) => el('tr', {}, el('th', { scope: 'row', text: name }),
    ...rows.filter((r) => r.weekday === d).sort((a, b) => a.hour - b.hour).map((r) => el('td', {
      class: `heat heat-${r.incoming ? Math.min(5, 1 + Math.floor((r.incoming / most) * 4.999)) : 0}`,
      title: `${name} ${r.hour}h: ${r.incoming}`, text: r.incoming ? String(r.incoming) : '' }))));
  document.getElementById(id).replaceChildren(el('table', { class: 'heatmap' }, el('thead', {}, head),
                                                 el('tbody', {}, ...body)));
}

/** Fit every chart to its box again (the window was resized). */
export function resizeCharts() {
  for (const [id, chart] of charts) {
    chart.setSize({ width: width(document.getElementById(id)), height: chart.height });
  }
}

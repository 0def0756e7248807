// Charts on uPlot (vendored): a stacked area of moods over time, and lines. Each chart fits
// its box and follows it when the window resizes; the router destroys them between views.
// The drawn series and point counts are mirrored in `data-series` / `data-points` on the box.

import uPlot from "./uplot.js";
import { COLOURS, MOODS } from "./moods.js";
import { fmtInt } from "./dom.js";

const live = new Set();

/** Destroys every chart drawn so far (called before a new view is drawn). */
export function destroyCharts() {
  for (const { u, observer } of live) {
    observer.disconnect();
    u.destroy();
  }
  live.clear();
}

function tint(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

const width = (el) => Math.max(260, Math.floor(el.getBoundingClientRect().width));

function draw(el, opts, data) {
  const u = new uPlot({ height: 260, ...opts, width: width(el) }, data, el);
  const observer = new ResizeObserver(() => {
    const w = width(el);
    if (w !== u.width) u.setSize({ width: w, height: u.height });
  });
  observer.observe(el);
  live.add({ u, observer });
  el.dataset.series = String(u.series.length - 1);
  el.dataset.points = String(u.data[0].length);
  return u;
}

/** Axis and legend times in the picked zone. */
const zoned = (tz) => (ts) => uPlot.tzDate(new Date(ts * 1e3), tz);

/** Moods over time, stacked: `counts[mood][i]` sessions in the bucket starting at `x[i]`. */
export function moodChart(el, x, counts, tz) {
  let sum = x.map(() => 0);
  const stacked = MOODS.map((m) => (sum = sum.map((v, i) => v + counts[m][i])));
  const series = MOODS.map((m) => ({
    label: m,
    stroke: COLOURS[m],
    fill: tint(COLOURS[m], 0.6),
    width: 1,
    points: { show: false },
    value: (u, v, si, i) => (i === null || i === undefined ? "—" : fmtInt(counts[m][i])),
  }));
  // Each mood fills down to the one below it, not to the axis.
  const bands = MOODS.slice(1).map((_, i) => ({ series: [i + 2, i + 1] }));
  return draw(el, {
    tzDate: zoned(tz),
    series: [{ label: "Bucket" }, ...series],
    bands,
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { label: "Sessions", size: 60 }],
    cursor: { points: { show: false } },
  }, [x, ...stacked]);
}

/**
 * Lines over time: `lines` of `{label, values, colour, scale?}`; a line with `scale: "right"`
 * gets its own axis on the right. `marks` shows a point at every x (events).
 */
export function lineChart(el, x, lines, tz, { yLabel = "", marks = false, onHover = null, range = null } = {}) {
  const right = lines.some((l) => l.scale === "right");
  const opts = {
    tzDate: zoned(tz),
    series: [
      { label: "Time" },
      ...lines.map((l) => ({
        label: l.label,
        stroke: l.colour,
        width: 2,
        scale: l.scale === "right" ? "right" : "y",
        // Points where asked (events), else uPlot's own choice: shown when the data is sparse.
        points: marks ? { show: true, size: 6, fill: l.colour } : {},
        spanGaps: true,
        value: (u, v) => (v === null || v === undefined ? "—" : Number.isInteger(v) ? fmtInt(v) : v.toFixed(3)),
      })),
    ],
    scales: { y: range ? { range: () => range } : {}, ...(right ? { right: {} } : {}) },
    axes: [
      {},
      { label: yLabel, size: 60 },
      ...(right ? [{ scale: "right", side: 1, label: lines.find((l) => l.scale === "right").label, size: 60, grid: { show: false } }] : []),
    ],
    hooks: onHover ? { setCursor: [(u) => onHover(u.cursor.idx)] } : {},
  };
  return draw(el, opts, [x, ...lines.map((l) => l.values)]);
}

// Overview: the mood distribution now, moods over time (stacked), sessions and events per
// bucket, and the mean affect of the window, for an interval, a date range and a time zone.

import * as api from "./api.js";
import { alertBox, field, fmt2, fmtInt, fmtPct, h, select, table } from "./dom.js";
import { COLOURS, DIMENSIONS, DIMENSION_COLOURS, MOODS, chip } from "./moods.js";
import { addDays, browserZone, dateIn, fmtTime, isDate, midnight, zones } from "./time.js";
import { lineChart, moodChart } from "./charts.js";
import { exportButtons } from "./exports.js";

const INTERVALS = [["hour", "Hour"], ["day", "Day"], ["week", "Week"]];
const PRESETS = [[1, "Today"], [7, "7 days"], [30, "30 days"], [90, "90 days"], [180, "180 days"]];

export async function overview(view, { params, go, stale }) {
  const tz = params.get("tz") || browserZone();
  const interval = INTERVALS.some(([v]) => v === params.get("interval")) ? params.get("interval") : "day";
  const to = isDate(params.get("to")) ? params.get("to") : dateIn(tz);
  const from = isDate(params.get("from")) ? params.get("from") : addDays(to, -29);
  const filters = { interval, from, to, tz };

  view.append(h("h1", {}, "Overview"), controls(filters, go));
  const body = h("div", { class: "stack", "aria-live": "polite", "aria-busy": "true" });
  view.append(body);

  const fromS = midnight(from, tz);
  const toS = midnight(addDays(to, 1), tz);
  const days = Math.min(365, Math.max(1, Math.ceil((Date.now() / 1000 - fromS) / 86400)));
  const [distribution, series, aggregate] = await Promise.allSettled([
    api.get("/v1/analytics/moods"),
    api.get("/v1/analytics/moods/timeseries", { from: fromS, to: toS, interval, tz }),
    api.get("/v1/analytics/moods/aggregate", { days }),
  ]);
  if (stale()) return;
  body.removeAttribute("aria-busy");
  body.append(
    distribution.status === "fulfilled" ? now(distribution.value) : alertBox(distribution.reason.message),
    series.status === "fulfilled" ? overTime(series.value, tz) : alertBox(series.reason.message),
    aggregate.status === "fulfilled" ? mean(aggregate.value, series.value?.buckets, tz) : alertBox(aggregate.reason.message),
    exports(fromS, toS, from, to),
  );
}

function controls(f, go) {
  const interval = select({ name: "interval", id: "interval" }, INTERVALS, f.interval);
  const from = h("input", { type: "date", name: "from", id: "from", value: f.from, max: f.to, required: true });
  const to = h("input", { type: "date", name: "to", id: "to", value: f.to, required: true });
  const tz = select({ name: "tz", id: "tz" }, zones().map((z) => [z, z]), f.tz);
  const form = h("form", { class: "controls", "aria-label": "Overview filters" },
    field("Interval", interval), field("From", from), field("To", to), field("Time zone", tz),
    h("button", { type: "submit" }, "Apply"),
    h("div", { class: "presets", role: "group", "aria-label": "Quick ranges" },
      PRESETS.map(([days, text]) => h("button", {
        type: "button", class: "quiet",
        onclick: () => go("/overview", { ...f, interval: intervalFor(days, f.interval), from: addDays(dateIn(f.tz), 1 - days), to: dateIn(f.tz) }),
      }, text))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go("/overview", { interval: interval.value, from: from.value, to: to.value, tz: tz.value });
  });
  return form;
}

/** The interval for a quick range of `days`: hours for one day; no hours past 30 days (over
 * the 1,000 buckets a series may have); else the one in use. */
function intervalFor(days, current) {
  if (days === 1) return "hour";
  return current === "hour" && days > 30 ? "day" : current;
}

/** The distribution now: a bar per mood, and the totals. */
function now(d) {
  const rows = d.mood_distribution.map((m) => {
    const bar = h("span", { class: "bar" });
    bar.style.width = `${m.percentage}%`;
    bar.style.background = COLOURS[m.mood];
    return h("li", { "data-mood": m.mood, "data-count": m.count },
      chip(m.mood), h("span", { class: "track", "aria-hidden": "true" }, bar),
      h("span", { class: "num" }, fmtInt(m.count)), h("span", { class: "num muted" }, fmtPct(m.percentage)));
  });
  return h("section", { "aria-labelledby": "now-title" },
    h("h2", { id: "now-title" }, "Mood now"),
    h("div", { class: "cards" },
      card("Sessions", fmtInt(d.total_sessions), "total-sessions"),
      card("With feedback", fmtInt(d.feedback_count), "feedback-count")),
    h("ul", { class: "distribution", id: "distribution" }, rows));
}

function card(label, value, id) {
  return h("div", { class: "card" }, h("span", { class: "muted" }, label), h("strong", { id }, value));
}

/** Moods over time (stacked), then sessions and events per bucket. */
function overTime(s, tz) {
  const x = s.buckets.map((b) => Date.parse(b.start) / 1000);
  const counts = Object.fromEntries(MOODS.map((m) => [m, s.buckets.map((b) => b.moods.find((c) => c.mood === m).count)]));
  const moods = h("div", { class: "chart", id: "mood-chart", role: "img", "aria-label": `Sessions per mood per ${s.interval}, stacked` });
  const volume = h("div", { class: "chart", id: "volume-chart", role: "img", "aria-label": `Sessions and events per ${s.interval}` });
  const section = h("section", { "aria-labelledby": "time-title" },
    h("h2", { id: "time-title" }, `Moods per ${s.interval}`),
    h("p", { class: "muted" }, `${fmtTime(s.from, tz)} – ${fmtTime(s.to, tz)} (${s.tz}), ${fmtInt(s.buckets.length)} buckets. Each session counts under its mood at its last event in the bucket.`),
    moods,
    h("h3", {}, `Sessions and events per ${s.interval}`),
    volume,
    h("details", {},
      h("summary", {}, "Data table"),
      table(null, ["Bucket start", "Sessions", "Events", ...MOODS],
        s.buckets.map((b) => [fmtTime(b.start, tz), fmtInt(b.sessions), fmtInt(b.events), ...b.moods.map((c) => fmtInt(c.count))]),
        { id: "series-table" })));
  queueMicrotask(() => {
    moodChart(moods, x, counts, tz);
    lineChart(volume, x, [
      { label: "Sessions", values: s.buckets.map((b) => b.sessions), colour: "#0072B2" },
      { label: "Events", values: s.buckets.map((b) => b.events), colour: "#E69F00", scale: "right" },
    ], tz, { yLabel: "Sessions" });
  });
  return section;
}

/** The Sonzai aggregate of the window, and the mean dimensions per bucket. */
function mean(a, buckets, tz) {
  const dims = h("div", { class: "chart", id: "dims-chart", role: "img", "aria-label": "Mean dimensions per bucket" });
  const section = h("section", { "aria-labelledby": "mean-title" },
    h("h2", { id: "mean-title" }, "Average affect"),
    h("p", { class: "muted" }, `Sessions whose latest event is in the last ${a.days_window} day${a.days_window === 1 ? "" : "s"}: ${fmtInt(a.session_count)} sessions, ${fmtInt(a.user_count)} people. Nearest mood: `, chip(a.label.toString())),
    h("div", { class: "cards", id: "aggregate" }, DIMENSIONS.map((d) => card(d, fmt2(a[d]), `mean-${d}`))),
    buckets ? dims : null);
  if (buckets) {
    const x = buckets.map((b) => Date.parse(b.start) / 1000);
    queueMicrotask(() => lineChart(dims, x,
      DIMENSIONS.map((d) => ({ label: d, values: buckets.map((b) => b[d] ?? null), colour: DIMENSION_COLOURS[d] })),
      tz, { yLabel: "Mean (−1 to 1)" }));
  }
  return section;
}

function exports(fromS, toS, from, to) {
  return h("section", { "aria-labelledby": "export-title" },
    h("h2", { id: "export-title" }, "Download"),
    h("p", { class: "muted" }, "Every event in the chosen range, with the state after it."),
    exportButtons("/v1/analytics/export", { from: fromS, to: toS }, `moodring-events-${from}-to-${to}`, (f) => `Events as ${f}`));
}

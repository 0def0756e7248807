// Pieces the session and person pages share: the mood card, the four dimensions over time
// with every event marked, and the list of what each event did.

import { fmt2, h, table } from "./dom.js";
import { DIMENSIONS, DIMENSION_COLOURS, chip, words } from "./moods.js";
import { fmtTime } from "./time.js";
import { lineChart } from "./charts.js";

/** Label, confidence, suggested action, signals with their values, dimensions; `facts` after. */
export function moodCard(m, tz, facts = []) {
  const signals = m.signals.length
    ? h("ul", { class: "signals" }, m.signals.map((s) => h("li", {},
        h("strong", {}, words(s.id)), ` ${s.strength.toFixed(2)}`,
        Object.keys(s.values).length ? h("span", { class: "muted" }, ` (${Object.entries(s.values).map(([k, v]) => `${k}: ${v}`).join(", ")})`) : null)))
    : h("p", { class: "muted" }, "No signals.");
  return h("section", { class: "mood-card", id: "mood-card", "aria-label": "Current mood" },
    h("div", { class: "headline" }, chip(m.label), h("span", {}, `confidence ${m.confidence.toFixed(2)}`),
      h("span", {}, "suggests ", h("strong", { id: "suggested-action" }, words(m.suggested_action)))),
    h("dl", { class: "facts" },
      DIMENSIONS.flatMap((d) => [h("dt", {}, d), h("dd", {}, fmt2(m[d]))]),
      facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h3", {}, "Signals"), signals);
}

/** History entries (newest first, as the API pages them) as a chart and a table. */
export function history(entries, tz, { title, truncated }) {
  // Oldest first for the chart; a person's sessions interleave, so by time, not by page order.
  const at = (e) => Date.parse(e.timestamp);
  const chrono = [...entries].reverse().sort((a, b) => at(a) - at(b));
  const chart = h("div", { class: "chart", id: "history-chart", role: "img", "aria-label": "The four dimensions after each event" });
  const detail = h("div", { class: "detail", id: "event-detail", "aria-live": "polite" }, h("span", { class: "muted" }, "Point at the chart to see what an event did."));
  const show = (i) => {
    const e = chrono[i];
    if (!e) return;
    detail.replaceChildren(
      h("strong", {}, `${words(e.trigger_type)} · ${fmtTime(e.timestamp, tz)}`), " ", chip(e.label),
      h("p", {}, e.trigger_reason),
      e.signals.length ? h("p", { class: "muted" }, `Signals: ${e.signals.map((s) => words(s.id)).join(", ")}`) : null);
  };
  const section = h("section", { "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, title),
    truncated ? h("p", { class: "muted" }, `Showing the latest ${entries.length} events.`) : null,
    entries.length ? chart : h("p", { class: "muted" }, "No events yet."),
    entries.length ? detail : null,
    entries.length ? table("Events, newest first", ["Time", "Event", "What it did", "Mood", "Confidence"],
      entries.map((e) => [fmtTime(e.timestamp, tz), words(e.trigger_type), e.trigger_reason, chip(e.label), e.confidence.toFixed(2)]),
      { id: "events-table" }) : null);
  if (entries.length) {
    queueMicrotask(() => lineChart(chart, chrono.map((e) => at(e) / 1000),
      DIMENSIONS.map((d) => ({ label: d, values: chrono.map((e) => e[d]), colour: DIMENSION_COLOURS[d] })),
      tz, { yLabel: "−1 to 1", marks: true, onHover: show, range: [-1, 1] }));
  }
  return section;
}

/** Every page of a history, newest first, up to `max` entries. */
export async function allHistory(fetchPage, max = 2000) {
  const entries = [];
  let before;
  do {
    const page = await fetchPage({ limit: 500, before });
    entries.push(...page.entries);
    before = page.next_cursor;
  } while (before && entries.length < max);
  return { entries: entries.slice(0, max), truncated: Boolean(before) };
}

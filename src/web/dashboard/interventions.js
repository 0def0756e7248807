// Interventions: what the policy learned from feedback, per context (mood and strongest
// signal) and action: how often suggested, how often helpful (with its 95 % interval), and
// the chance it is chosen now.

import * as api from "./api.js";
import { exportButtons } from "./exports.js";
import { fmtInt, fmtPct, h, table } from "./dom.js";
import { COLOURS, chip, words } from "./moods.js";

export async function interventions(view, { stale }) {
  view.append(h("h1", {}, "Interventions"));
  const data = await api.get("/v1/analytics/interventions");
  if (stale()) return;
  const s = data.settings;
  view.append(
    h("section", { "aria-labelledby": "settings-title" },
      h("h2", { id: "settings-title" }, "Settings"),
      h("dl", { class: "facts", id: "intervention-settings" },
        h("dt", {}, "learning"), h("dd", {}, s.learning ? "on" : "off (the documented table)"),
        h("dt", {}, "exploration"), h("dd", {}, fmtPct(s.exploration * 100)),
        h("dt", {}, "disabled"), h("dd", {}, s.disabled_actions.length ? s.disabled_actions.map(words).join(", ") : "none"),
        Object.entries(s.min_confidence).flatMap(([a, v]) => [h("dt", {}, `${words(a)} from`), h("dd", {}, v.toFixed(2))])),
      h("p", { class: "muted" }, "Change them with PUT /v1/settings/interventions.")),
    ...(data.contexts.length ? data.contexts.map(context) : [h("p", { class: "muted" }, "No suggestion or feedback recorded yet.")]),
    exports());
}

function context(c) {
  const title = `${c.mood} · ${words(c.signal)}`;
  const chart = h("div", { class: "bars", role: "img", "aria-label": `Helpful rate and chance of being chosen per action, ${title}` },
    c.actions.map((a) => h("div", { class: "bar-row" },
      h("span", { class: "bar-label" }, words(a.action)),
      h("span", { class: "track" }, rateBar(a, COLOURS[c.mood])),
      h("span", { class: "num" }, a.helpful_rate === null ? "no ratings" : fmtPct(a.helpful_rate * 100)))));
  return h("section", { class: "context", "data-context": `${c.mood}/${c.signal}` },
    h("h2", {}, chip(c.mood), " ", words(c.signal), c.learning ? "" : h("span", { class: "muted" }, " — the table (no rated feedback yet)")),
    chart,
    h("p", { class: "muted" }, "Bars: the helpful rate; the dark line across each: its 95 % interval."),
    table(null, ["Action", "Suggested", "Feedback", "Helpful", "Helpful rate (95 % interval)", "Chosen now"],
      c.actions.map((a) => [words(a.action), fmtInt(a.suggested), fmtInt(a.feedback_count), fmtInt(a.helpful),
        a.helpful_rate === null ? "—" : `${fmtPct(a.helpful_rate * 100)} (${fmtPct(a.helpful_rate_low * 100)}–${fmtPct(a.helpful_rate_high * 100)})`,
        fmtPct(a.probability * 100)])));
}

/** The helpful rate as a bar, its interval as a whisker over it. */
function rateBar(a, colour) {
  const wrap = h("span", { class: "rate" });
  if (a.helpful_rate === null) return wrap;
  const bar = h("span", { class: "bar" });
  bar.style.width = `${a.helpful_rate * 100}%`;
  bar.style.background = colour;
  const whisker = h("span", { class: "whisker" });
  whisker.style.left = `${a.helpful_rate_low * 100}%`;
  whisker.style.width = `${(a.helpful_rate_high - a.helpful_rate_low) * 100}%`;
  wrap.append(bar, whisker);
  return wrap;
}

function exports() {
  return h("section", { "aria-labelledby": "iexport-title" },
    h("h2", { id: "iexport-title" }, "Download"),
    exportButtons("/v1/analytics/interventions/export", {}, "moodring-interventions", (f) => `As ${f}`));
}

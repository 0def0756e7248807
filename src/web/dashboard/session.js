// One session: its mood now, its dimensions over time with each event, and its feedback.

import * as api from "./api.js";
import { alertBox, fmtInt, h, table } from "./dom.js";
import { chip, words } from "./moods.js";
import { browserZone, fmtTime } from "./time.js";
import { allHistory, history, moodCard } from "./affect.js";

export async function session(view, { arg: id, stale }) {
  const tz = browserZone();
  const path = `/v1/sessions/${encodeURIComponent(id)}`;
  view.append(h("p", {}, h("a", { href: "#/sessions" }, "← Sessions")), h("h1", {}, "Session ", h("code", {}, id)));
  let state;
  try {
    state = (await api.get(`${path}/state`)).mood;
  } catch (e) {
    if (e.status === 404) return view.append(alertBox("No session with this id."));
    throw e;
  }
  const [past, feedback] = await Promise.all([
    allHistory((q) => api.get(`${path}/mood-history`, q)),
    api.get(`${path}/feedback`, { limit: 100 }),
  ]);
  if (stale()) return;
  view.append(
    moodCard(state, tz, [
      ["events", fmtInt(state.event_count)],
      ["started", fmtTime(state.created_at, tz)],
      ["latest event", fmtTime(state.last_interaction_at, tz)],
      ["model", state.model_version],
    ]),
    history(past.entries, tz, { title: "Over time", truncated: past.truncated }),
    h("section", { "aria-labelledby": "feedback-title" },
      h("h2", { id: "feedback-title" }, "Feedback"),
      feedback.feedback.length
        ? table(null, ["Time", "Action taken", "Helpful", "Mood then", "Notes"],
          feedback.feedback.map((f) => [fmtTime(f.created_at, tz), words(f.action_taken),
            f.was_helpful === undefined ? "—" : f.was_helpful ? "yes" : "no", chip(f.mood), f.notes || ""]),
          { id: "feedback-table" })
        : h("p", { class: "muted" }, "No feedback for this session.")));
}

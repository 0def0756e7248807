// People: look up a user id; their mood across sessions, the summary for an agent's prompt,
// their sessions and their history.

import * as api from "./api.js";
import { alertBox, field, fmtInt, h, table } from "./dom.js";
import { chip } from "./moods.js";
import { browserZone, fmtTime } from "./time.js";
import { allHistory, history, moodCard } from "./affect.js";
import { sessionLink } from "./sessions.js";

export async function people(view, { arg: id, go, stale }) {
  const tz = browserZone();
  const input = h("input", { type: "search", name: "user", id: "user", value: id || "", required: true, autocomplete: "off", maxlength: 256 });
  const form = h("form", { class: "controls", role: "search", "aria-label": "Find a person" },
    field("User id", input), h("button", { type: "submit" }, "Look up"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go(`/people/${encodeURIComponent(input.value.trim())}`);
  });
  view.append(h("h1", {}, id ? ["Person ", h("code", {}, id)] : "People"), form);
  if (!id) return input.focus();

  const path = `/v1/users/${encodeURIComponent(id)}`;
  let mood;
  try {
    mood = await api.get(`${path}/mood`);
  } catch (e) {
    if (e.status === 404) return view.append(alertBox("No person with this user id: their sessions send it as user_id."));
    throw e;
  }
  const [sessions, past] = await Promise.all([
    api.get(`${path}/sessions`, { limit: 100 }),
    allHistory((q) => api.get(`${path}/mood-history`, q), 1000),
  ]);
  if (stale()) return;
  view.append(
    moodCard(mood, tz, [["events", fmtInt(mood.event_count)], ["latest event", fmtTime(mood.last_interaction_at, tz)]]),
    h("section", { "aria-labelledby": "summary-title" },
      h("h2", { id: "summary-title" }, "Summary"), h("p", { id: "summary" }, mood.summary)),
    h("section", { "aria-labelledby": "their-sessions" },
      h("h2", { id: "their-sessions" }, "Sessions"),
      table(null, ["Session", "Mood", "Confidence", "Events", "Latest event"],
        sessions.sessions.map((s) => [sessionLink(s.session_id), chip(s.mood), s.confidence.toFixed(2), fmtInt(s.event_count), fmtTime(s.updated_at, tz)]),
        { id: "person-sessions" })),
    history(past.entries, tz, { title: "History across sessions", truncated: past.truncated }));
}

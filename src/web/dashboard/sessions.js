// Sessions: the most recently active first, filtered by mood and by the day of their latest
// event, a page at a time.

import * as api from "./api.js";
import { field, fmtInt, h, select } from "./dom.js";
import { MOODS, chip, words } from "./moods.js";
import { addDays, browserZone, fmtTime, isDate, midnight } from "./time.js";

const PAGE = 50;

/** A link to a session's page. */
export const sessionLink = (id) => h("a", { href: `#/sessions/${encodeURIComponent(id)}` }, id);
const personLink = (id) => (id ? h("a", { href: `#/people/${encodeURIComponent(id)}` }, id) : "—");

export async function sessions(view, { params, go, stale }) {
  const tz = browserZone();
  const mood = MOODS.includes(params.get("mood")) ? params.get("mood") : "";
  const from = isDate(params.get("from")) ? params.get("from") : "";
  const to = isDate(params.get("to")) ? params.get("to") : "";
  view.append(h("h1", {}, "Sessions"), controls({ mood, from, to }, go));

  const query = {
    mood,
    from: from ? midnight(from, tz) : "",
    to: to ? midnight(addDays(to, 1), tz) : "",
    limit: PAGE,
  };
  const rows = h("tbody");
  const status = h("p", { class: "muted", role: "status" });
  const more = h("button", { type: "button", class: "quiet", hidden: true }, "Load more");
  view.append(
    h("div", { class: "table-wrap" },
      h("table", { id: "sessions-table" },
        h("caption", {}, `Most recently active first (times in ${tz})`),
        h("thead", {}, h("tr", {}, ["Session", "Person", "Mood", "Confidence", "Suggested action", "Events", "Latest event", "Feedback"].map((t) => h("th", { scope: "col" }, t)))),
        rows)),
    status, more);

  let cursor = null;
  let shown = 0;
  const load = async () => {
    more.disabled = true;
    const page = await api.get("/v1/sessions", { ...query, cursor });
    if (stale()) return;
    for (const s of page.sessions) {
      rows.append(h("tr", { "data-session": s.session_id },
        h("td", {}, sessionLink(s.session_id)), h("td", {}, personLink(s.user_id)), h("td", {}, chip(s.mood)),
        h("td", { class: "num" }, s.confidence.toFixed(2)), h("td", {}, words(s.suggested_action)),
        h("td", { class: "num" }, fmtInt(s.event_count)), h("td", {}, fmtTime(s.updated_at, tz)),
        h("td", {}, s.has_feedback ? "yes" : "")));
    }
    shown += page.sessions.length;
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    more.disabled = false;
    status.textContent = shown === 0 ? "No sessions match." : `${fmtInt(shown)} session${shown === 1 ? "" : "s"} shown${cursor ? "" : ", all of them"}.`;
  };
  more.addEventListener("click", () => load().catch((e) => (status.textContent = e.message)));
  await load();
}

function controls(f, go) {
  const mood = select({ name: "mood", id: "mood" }, [["", "Any mood"], ...MOODS.map((m) => [m, m])], f.mood);
  const from = h("input", { type: "date", name: "from", id: "from", value: f.from });
  const to = h("input", { type: "date", name: "to", id: "to", value: f.to });
  const form = h("form", { class: "controls", "aria-label": "Session filters" },
    field("Mood", mood), field("Active from", from), field("Active to", to), h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go("/sessions", { mood: mood.value, from: from.value, to: to.value });
  });
  return form;
}

// Round trip through a TypeScript client generated from openapi/openapi.json with
// openapi-typescript and openapi-fetch (tests/contract/run.sh). `tsc --strict` checks every call
// and field below against the generated types; then this runs against a live server.
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema.js";

function check(condition: boolean, what: string, value?: unknown): void {
  if (!condition) {
    throw new Error(`${what}: ${JSON.stringify(value)}`);
  }
}

/** The response's data, failing on an error or an unexpected status. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }, status = 200): T {
  check(result.response.status === status && result.data !== undefined, `status ${result.response.status}`, result.error);
  return result.data as T;
}

async function main(baseUrl: string): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl });
  const health = ok(await anonymous.GET("/health"));
  check(health.status === "ok", "health", health);

  const key = ok(
    await anonymous.POST("/v1/keys/generate", { body: { customer_name: "TypeScript Client", plan: "starter" } }),
    201,
  );
  check(key.api_key.startsWith("sm_") && key.plan === "starter", "generated key", key);
  // The Bearer scheme here; the Python round trip uses X-Api-Key.
  const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${key.api_key}` } });

  const session = `ts-${crypto.randomUUID()}`;
  const id = { path: { id: session } };
  const posted = ok(
    await api.POST("/v1/sessions/{id}/events", {
      params: id,
      body: {
        user_id: "ts-user",
        events: [
          { type: "page_view", url: "/checkout", event_id: "p1" },
          { type: "error", message: "Card declined", event_id: "e1" },
          { type: "error", message: "Card declined", event_id: "e2" },
          { type: "rage_click", x: 5, y: 6, event_id: "r1" },
          { type: "rage_click", x: 5, y: 6, event_id: "r2" },
          { type: "rage_click", x: 5, y: 6, event_id: "r3" },
        ],
      },
    }),
  );
  check(posted.events_stored === 6 && posted.current_mood === "frustrated", "posted", posted);

  const mood = ok(await api.GET("/v1/sessions/{id}/mood", { params: id }));
  check(mood.mood === "frustrated" && mood.event_count === 6 && mood.confidence > 0, "mood", mood);
  const state = ok(await api.GET("/v1/sessions/{id}/state", { params: { path: id.path, query: { scale: "0-100" } } }));
  check(state.mood.scale === "0-100" && state.mood.event_count === 6, "state", state);
  const page = ok(await api.GET("/v1/sessions/{id}/mood-history", { params: { path: id.path, query: { limit: 4 } } }));
  check(page.entries.length === 4 && page.next_cursor !== undefined, "history page", page);
  const rest = ok(
    await api.GET("/v1/sessions/{id}/mood-history", { params: { path: id.path, query: { before: page.next_cursor } } }),
  );
  check(rest.entries.length === 2, "history rest", rest);

  const feedback = ok(
    await api.POST("/v1/sessions/{id}/feedback", { params: id, body: { action_taken: "show_live_chat", was_helpful: false } }),
  );
  check(feedback.feedback_recorded, "feedback", feedback);

  const person = ok(await api.GET("/v1/users/{user_id}/mood", { params: { path: { user_id: "ts-user" } } }));
  check(person.label === "frustrated" && person.recent_sessions.length === 1 && person.summary.length > 0, "user", person);
  const sessions = ok(await api.GET("/v1/users/{user_id}/sessions", { params: { path: { user_id: "ts-user" } } }));
  check(sessions.sessions[0]?.session_id === session, "user sessions", sessions);

  const analytics = ok(await api.GET("/v1/analytics/moods"));
  check(analytics.total_sessions === 1 && analytics.feedback_count === 1, "analytics", analytics);
  const aggregate = ok(await api.GET("/v1/analytics/moods/aggregate", { params: { query: { days: 1 } } }));
  check(aggregate.session_count === 1 && aggregate.user_count === 1, "aggregate", aggregate);
  const series = ok(await api.GET("/v1/analytics/moods/timeseries", { params: { query: { interval: "hour" } } }));
  check(series.buckets.reduce((n, b) => n + b.events, 0) === 6, "timeseries", series);
  const exported = await api.GET("/v1/analytics/export", { params: { query: { format: "csv" } }, parseAs: "text" });
  check(exported.response.status === 200 && exported.data?.trim().split("\n").length === 7, "csv export", exported.data);

  // Errors arrive typed, in the documented shape.
  const invalid = await api.POST("/v1/sessions/{id}/events", {
    params: id,
    body: { events: [{ type: "click", ts: 1746352800000 }] },
  });
  check(invalid.response.status === 400 && invalid.error?.field === "events[0].ts", "milliseconds as ts", invalid.error);

  ok(await api.DELETE("/v1/sessions/{id}", { params: id }));
  const gone = await api.GET("/v1/sessions/{id}/mood", { params: id });
  check(gone.response.status === 404 && gone.error?.error === "Session not found", "deleted session", gone.error);
  const erased = ok(await api.DELETE("/v1/users/{user_id}", { params: { path: { user_id: "ts-user" } } }));
  check(erased.deleted, "deleted user", erased);

  const revoked = ok(await api.DELETE("/v1/keys/current"));
  check(revoked.revoked, "revoked", revoked);
  check((await api.GET("/v1/analytics/moods")).response.status === 401, "revoked key refused");
  console.log("typescript client round trip: ok");
}

main(process.argv[2] ?? "http://127.0.0.1:8080").catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

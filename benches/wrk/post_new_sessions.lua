-- POST /v1/sessions/{id}/events, each request to a session never seen before (EVENTS=1…10
-- events, as post_events.lua): every request starts a session, so every one writes an outbox
-- message (session.started) — the most the push outbox can cost ingest. Session ids carry a
-- prefix per run, so rounds never meet; 150,000 requests are built once (a 10 s run at 5,000
-- req/s uses a third of them; the pro plan allows 200,000 new sessions a month).
local kinds = { "page_view", "scroll", "click", "hover", "click", "scroll", "focus", "click", "input_pause", "click" }
local parts = {}
for i = 1, tonumber(os.getenv("EVENTS") or "10") do
  parts[i] = string.format('{"type":"%s","x":%d,"y":300,"duration_ms":1500,"speed":800}', kinds[i], 100 + i)
end
local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
math.randomseed(os.time())
local prefix = string.format("new-%d-%d-", os.time(), math.random(1, 1000000000))
local headers = { ["Content-Type"] = "application/json", ["X-Api-Key"] = os.getenv("KEY") }
local requests, count = {}, 150000
for i = 1, count do
  requests[i] = wrk.format("POST", "/v1/sessions/" .. prefix .. i .. "/events", headers, body)
end
local n = 0

request = function()
  n = n % count + 1
  return requests[n]
end

-- POST /v1/sessions/{id}/events: 10-event batches spread over 1,000 sessions. KEY from the environment.
-- The requests are built once: formatting each one on the fly would spend wrk's CPU (which the
-- server and the database share the machine with) on the client.
local kinds = { "page_view", "scroll", "click", "hover", "click", "scroll", "focus", "click", "input_pause", "click" }
local parts = {}
for i, kind in ipairs(kinds) do
  parts[i] = string.format('{"type":"%s","x":%d,"y":300,"duration_ms":1500,"speed":800}', kind, 100 + i)
end
local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
local headers = { ["X-Api-Key"] = os.getenv("KEY"), ["Content-Type"] = "application/json" }
local requests = {}
for i = 0, 999 do
  requests[i] = wrk.format("POST", "/v1/sessions/load-" .. i .. "/events", headers, body)
end
local n = 0

request = function()
  n = (n + 1) % 1000
  return requests[n]
end

-- POST /v1/sessions/{id}/events: 10-event batches spread over 1,000 sessions. KEY from the environment.
local key = os.getenv("KEY")
local n = 0
local kinds = { "page_view", "scroll", "click", "hover", "click", "scroll", "focus", "click", "input_pause", "click" }
local parts = {}
for i, kind in ipairs(kinds) do
  parts[i] = string.format('{"type":"%s","x":%d,"y":300,"duration_ms":1500,"speed":800}', kind, 100 + i)
end
local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
local headers = { ["X-Api-Key"] = key, ["Content-Type"] = "application/json" }

request = function()
  n = n + 1
  return wrk.format("POST", "/v1/sessions/load-" .. (n % 1000) .. "/events", headers, body)
end

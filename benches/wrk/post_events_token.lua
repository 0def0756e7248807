-- POST /v1/sessions/{id}/events as post_events.lua, each of the 1,000 sessions with its own session
-- token (TOKENS: a file of "session token" lines) instead of the secret key.
local kinds = { "page_view", "scroll", "click", "hover", "click", "scroll", "focus", "click", "input_pause", "click" }
local parts = {}
for i, kind in ipairs(kinds) do
  parts[i] = string.format('{"type":"%s","x":%d,"y":300,"duration_ms":1500,"speed":800}', kind, 100 + i)
end
local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
local requests, count = {}, 0
for line in io.lines(os.getenv("TOKENS")) do
  local session, token = line:match("^(%S+) (%S+)$")
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  requests[count] = wrk.format("POST", "/v1/sessions/" .. session .. "/events", headers, body)
  count = count + 1
end
local n = 0

request = function()
  n = (n + 1) % count
  return requests[n]
end

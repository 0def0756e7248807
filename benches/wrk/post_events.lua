-- POST /v1/sessions/{id}/events: 10-event batches (EVENTS=1…10 for fewer, as a browser tracker
-- sends) spread over 1,000 sessions (load-0 … load-999),
-- with the secret key KEY from the environment; or, when TOKENS names a file of
-- "session token" lines, each session with its own session token (benches/token_post.sh).
-- The requests are built once: formatting each one on the fly would spend wrk's CPU (which the
-- server and the database share the machine with) on the client.
local kinds = { "page_view", "scroll", "click", "hover", "click", "scroll", "focus", "click", "input_pause", "click" }
local parts = {}
for i = 1, tonumber(os.getenv("EVENTS") or "10") do
  parts[i] = string.format('{"type":"%s","x":%d,"y":300,"duration_ms":1500,"speed":800}', kinds[i], 100 + i)
end
local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
local requests, count = {}, 0
local function add(session, credential)
  local headers = { ["Content-Type"] = "application/json" }
  for k, v in pairs(credential) do headers[k] = v end
  requests[count] = wrk.format("POST", "/v1/sessions/" .. session .. "/events", headers, body)
  count = count + 1
end
local tokens = os.getenv("TOKENS")
if tokens and tokens ~= "" then
  for line in io.lines(tokens) do
    local session, token = line:match("^(%S+) (%S+)$")
    add(session, { ["Authorization"] = "Bearer " .. token })
  end
else
  for i = 0, 999 do add("load-" .. i, { ["X-Api-Key"] = os.getenv("KEY") }) end
end
local n = 0

request = function()
  n = (n + 1) % count
  return requests[n]
end

-- POST /v1/sessions/{id}/events: 10-event batches (EVENTS=1…10 for fewer, as a browser tracker
-- sends) spread over 1,000 sessions (load-0 … load-999),
-- with the secret key KEY from the environment; or, when TOKENS names a file of
-- "session token" lines, each session with its own session token (benches/token_post.sh).
-- EVENT_IDS=1 gives every event a fresh client event id, as the tracker does (the server then
-- checks each against the session's stored ids); without it no event carries one, as a
-- server-side client mostly sends.
-- The requests are built once: formatting each one on the fly would spend wrk's CPU (which the
-- server and the database share the machine with) on the client. With EVENT_IDS the bodies are
-- made per request, the ids being fresh; only the ids are formatted then.
local kinds = { "page_view", "scroll", "click", "hover", "click", "scroll", "focus", "click", "input_pause", "click" }
local events = tonumber(os.getenv("EVENTS") or "10")
local with_ids = (os.getenv("EVENT_IDS") or "") ~= ""
local parts = {}
for i = 1, events do
  parts[i] = string.format('{"type":"%s","x":%d,"y":300,"duration_ms":1500,"speed":800', kinds[i], 100 + i)
end
-- The request body; with ids, those of the `prefix`-th request.
local function body(prefix)
  if not with_ids then
    return '{"events":[' .. table.concat(parts, "},") .. '}]}'
  end
  local ided = {}
  for i = 1, events do ided[i] = string.format('%s,"event_id":"%s-%d"}', parts[i], prefix, i) end
  return '{"events":[' .. table.concat(ided, ",") .. ']}'
end
local paths, heads, requests, count = {}, {}, {}, 0
local function add(session, credential)
  local headers = { ["Content-Type"] = "application/json" }
  for k, v in pairs(credential) do headers[k] = v end
  paths[count] = "/v1/sessions/" .. session .. "/events"
  heads[count] = headers
  if not with_ids then requests[count] = wrk.format("POST", paths[count], headers, body()) end
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
-- Ids unique across runs against one store (a warm-up, then the measured run).
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
local run = string.format("%x%04x", os.time(), math.random(0, 0xffff))
local n, sent = 0, 0

request = function()
  n = (n + 1) % count
  if not with_ids then
    return requests[n]
  end
  sent = sent + 1
  return wrk.format("POST", paths[n], heads[n], body(run .. "-" .. sent))
end

-- GET /v1/sessions/{id}/mood over the 1,000 sessions the POST run wrote. KEY from the environment.
-- The requests are built once: formatting one per call costs wrk's thread more than the request
-- costs a bare server (the baseline's GET is driven by this same script).
local headers = { ["X-Api-Key"] = os.getenv("KEY") }
local requests = {}
for i = 0, 999 do
  requests[i] = wrk.format("GET", "/v1/sessions/load-" .. i .. "/mood", headers)
end
local n = 0

request = function()
  n = (n + 1) % 1000
  return requests[n]
end

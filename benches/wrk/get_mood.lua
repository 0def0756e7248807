-- GET /v1/sessions/{id}/mood over the 1,000 sessions the POST run wrote. KEY from the environment.
local key = os.getenv("KEY")
local n = 0
local headers = { ["X-Api-Key"] = key }

request = function()
  n = n + 1
  return wrk.format("GET", "/v1/sessions/load-" .. (n % 1000) .. "/mood", headers)
end

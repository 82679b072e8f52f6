-- wrk script for bench/soak.py: a mix of what a test suite sends, counted by status class.
-- Issues tokens, redeems the last one issued, and sends the usual mistakes (bad key, bad
-- JSON, wrong content type, unknown token) and control-API reads. Run with -t1.
--   BENCH_API_KEY, BENCH_AGENT_ID, BENCH_INSTANCE_ID  from the default world

local key = os.getenv("BENCH_API_KEY")
local agent = os.getenv("BENCH_AGENT_ID")
local instance = os.getenv("BENCH_INSTANCE_ID")
local json = { ["Content-Type"] = "application/json" }
local function with_auth(headers, value)
  local h = {}
  for k, v in pairs(headers) do h[k] = v end
  h["Authorization"] = value
  return h
end

local issue = wrk.format("POST", "/api/widget/token", with_auth(json, "Bearer " .. key),
  '{"agentId": "' .. agent .. '", "callerName": "Soak Tester"}')
local fixed = {
  wrk.format("POST", "/api/widget/token", with_auth(json, "Bearer " .. key),
    '{"agentId": "' .. agent .. '", "instanceId": "' .. instance .. '", "language": "hi"}'),
  wrk.format("POST", "/api/widget/token", with_auth(json, "Bearer nas_wrong"),
    '{"agentId": "' .. agent .. '"}'),
  wrk.format("POST", "/api/widget/token", with_auth(json, "Bearer " .. key), '{"agentId": '),
  wrk.format("POST", "/api/widget/token",
    with_auth({ ["Content-Type"] = "text/plain" }, "Bearer " .. key), "agentId"),
  wrk.format("POST", "/api/widget/calls", json, '{"accessToken": "rt_test_unknown"}'),
  wrk.format("GET", "/_mock/calls?limit=5"),
}

local tokens = {}
local step = 0
counts = { s2xx = 0, s4xx = 0, s5xx = 0, other = 0 }

request = function()
  step = step + 1
  if step % 2 == 1 then
    return issue
  end
  local token = table.remove(tokens)
  if token and step % 4 == 0 then
    return wrk.format("POST", "/api/widget/calls", json, '{"accessToken": "' .. token .. '"}')
  end
  return fixed[math.floor(step / 2) % #fixed + 1]
end

response = function(status, headers, body)
  if status >= 200 and status < 300 then
    counts.s2xx = counts.s2xx + 1
    local token = body:match('"accessToken":"([^"]+)"')
    if token and #tokens < 64 then table.insert(tokens, token) end
  elseif status >= 400 and status < 500 then
    counts.s4xx = counts.s4xx + 1
  elseif status >= 500 then
    counts.s5xx = counts.s5xx + 1
  else
    counts.other = counts.other + 1
  end
end

local threads = {}
setup = function(thread) table.insert(threads, thread) end

done = function(summary, latency, requests)
  local c = { s2xx = 0, s4xx = 0, s5xx = 0, other = 0 }
  for _, thread in ipairs(threads) do
    local t = thread:get("counts")
    for k, v in pairs(t) do c[k] = c[k] + v end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "timeouts": %d, "s2xx": %d, "s4xx": %d, "s5xx": %d, '
      .. '"other": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    c.s2xx, c.s4xx, c.s5xx, c.other, latency:percentile(50), latency:percentile(99),
    latency.max))
end

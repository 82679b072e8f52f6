-- wrk script: POST /api/widget/token with a JSON body (bench/ passes it in the environment).
--   BENCH_BODY     the request body
--   BENCH_API_KEY  the bearer API key
--   BENCH_LIMIT    optional: stop after this many responses (use with -t1)
-- done() prints one line "BENCH_JSON {...}" that bench/_common.py parses.

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY")

local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")
if limit > 0 then
  local seen = 0
  response = function(status, headers, body)
    seen = seen + 1
    if seen == limit then
      -- wrk's main thread sleeps out -d; bench/_common.py interrupts it on this line
      io.write("BENCH_LIMIT_REACHED\n")
      io.flush()
      wrk.thread:stop()
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "non_2xx": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end

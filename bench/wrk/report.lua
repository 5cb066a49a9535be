-- Shared by the benchmark scripts: count answers that are not 2xx (wrk itself only counts those
-- from 400 up, and a redirect would pass for a success), and print the run's figures as one JSON
-- line for bench/harness/load.py.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("number", #threads)
  thread:set("not2xx", 0)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    not2xx = not2xx + 1
  end
end

function done(summary, latency, requests)
  local not2xx = 0
  for _, thread in ipairs(threads) do
    not2xx = not2xx + thread:get("not2xx")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"not2xx":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, not2xx,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end

-- What the reverse proxy (one, TRUSTED_PROXY_COUNT=1) adds to every request it forwards.
wrk.headers["X-Forwarded-Proto"] = "https"
wrk.headers["X-Forwarded-For"] = "203.0.113.10"

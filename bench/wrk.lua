-- wrk script for ./scripts/bench: optional POST body and headers from the environment, and a
-- one-line JSON report (throughput, latency percentiles in microseconds, errors) at the end.
local method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")
local content_type = os.getenv("BENCH_CONTENT_TYPE")
local user_agent = os.getenv("BENCH_USER_AGENT")
local referer = os.getenv("BENCH_REFERER")

function init(args)
  if method and method ~= "" then wrk.method = method end
  if body and body ~= "" then wrk.body = body end
  if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
  if content_type and content_type ~= "" then wrk.headers["Content-Type"] = content_type end
  if user_agent and user_agent ~= "" then wrk.headers["User-Agent"] = user_agent end
  if referer and referer ~= "" then wrk.headers["Referer"] = referer end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end

-- wrk script for ./scripts/bench: GET a random code of the file BENCH_CODES (one a line) per
-- request, so Redis and the redirector see many links instead of one hot one; same report.
local codes_file = os.getenv("BENCH_CODES")
local paths = {}

function init(args)
  for line in io.lines(codes_file) do
    if line ~= "" then paths[#paths + 1] = "/" .. line end
  end
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end

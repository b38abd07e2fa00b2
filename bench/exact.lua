-- wrk script for ./scripts/bench's exactness check: requests go round the paths in
-- BENCH_PATHS (space-separated), and the report counts responses by status.
local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS") or "/", "%S+") do
  table.insert(paths, path)
end
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  i = 0
  counts = {}
end

function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("counts")) do
      table.insert(parts, string.format('"%d":%d', status, count))
    end
  end
  io.write('BENCH {"statuses":{' .. table.concat(parts, ",") .. '}}\n')
end

--[[ begin_password_attempt: may this client have one password checked now? Atomically.

Wrong tries are limited per client and per link (all clients together). A check that is
running counts against the limit until it ends, so a burst of parallel guesses cannot slip
past the counters before the first failure is recorded: at most `limit` wrong passwords are
ever checked in one window. Every call that returns 0 must be followed by exactly one
finish_password_attempt with the same keys.

KEYS[1]  this client's failures on the link ({prefix}:pwfail:{code}:{client})
KEYS[2]  all clients' failures on the link ({prefix}:pwfail:{code})
KEYS[3]  this client's checks running now ({prefix}:pwpend:{code}:{client})
KEYS[4]  all clients' checks running now ({prefix}:pwpend:{code})
ARGV[1]  failures allowed per client in a window
ARGV[2]  failures allowed per link in a window
ARGV[3]  how long a running check may hold its place, ms (a crashed process frees it then)
ARGV[4]  window, seconds: given to a full failure counter found without a TTL, so no
         lock-out lasts forever

Returns {outcome, ms}
  outcome 0: go, the check holds its place now
          1: locked out; ms until the window that locks it closes (the Retry-After)
          2: busy, earlier checks of this client or link still run; ask again shortly
]]
local client_limit, link_limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local mine = tonumber(redis.call('GET', KEYS[1]) or 0)
local all = tonumber(redis.call('GET', KEYS[2]) or 0)

local function closes_in(key)
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 then return ttl end
  redis.call('EXPIRE', key, ARGV[4])
  return tonumber(ARGV[4]) * 1000
end

local wait = -1
if mine >= client_limit then wait = math.max(wait, closes_in(KEYS[1])) end
if all >= link_limit then wait = math.max(wait, closes_in(KEYS[2])) end
if wait >= 0 then return {1, wait} end

local mine_running = tonumber(redis.call('GET', KEYS[3]) or 0)
local all_running = tonumber(redis.call('GET', KEYS[4]) or 0)
if mine + mine_running >= client_limit or all + all_running >= link_limit then return {2, 0} end

redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('INCR', KEYS[4])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
return {0, 0}

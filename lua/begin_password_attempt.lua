--[[ begin_password_attempt: may this client have one password checked now? Atomically.

Two limits. One client on one link: `limit` wrong passwords in a window (a window starts at the
client's first failure and is never extended). A check that is running counts against that
limit until it ends, so a burst of parallel guesses cannot slip past the counter before the
first failure is recorded. One link, all clients together: a token bucket of `capacity` checks
that refills one check every `interval` ms, kept as one number (GCRA): the moment the bucket
will be full again. Every check takes a token when it begins, so no number of clients can have
more than capacity + elapsed / interval passwords checked; and once a flood stops, the next
token is at most `interval` ms away, so the rightful user is never kept out for long.
Every call that returns 0 must be followed by exactly one finish_password_attempt with the
same keys.

KEYS[1]  this client's failures on the link ({prefix}:pwfail:{code}:{client})
KEYS[2]  the link's bucket: when it is full again, ms since the epoch ({prefix}:pwrate:{code})
KEYS[3]  this client's checks running now ({prefix}:pwpend:{code}:{client})
ARGV[1]  failures allowed per client in a window
ARGV[2]  the link's bucket capacity (checks)
ARGV[3]  the link's refill interval, ms per check
ARGV[4]  how long a running check may hold its place, ms (a crashed process frees it then)
ARGV[5]  window, seconds: given to a full failure counter found without a TTL, so no
         lock-out lasts forever
ARGV[6]  now, ms since the epoch; '' or absent for the server's clock (only tests pass one)

Returns {outcome, ms}
  outcome 0: go, the check holds its place (and the link's token) now
          1: locked out; ms until this client may try again (the Retry-After)
          2: busy, earlier checks of this client still run; ask again shortly
]]
local client_limit = tonumber(ARGV[1])
local capacity, interval = tonumber(ARGV[2]), tonumber(ARGV[3])
local now
if ARGV[6] and ARGV[6] ~= '' then
  now = tonumber(ARGV[6])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local mine = tonumber(redis.call('GET', KEYS[1]) or 0)
if mine >= client_limit then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[5])
    ttl = tonumber(ARGV[5]) * 1000
  end
  return {1, ttl}
end

local mine_running = tonumber(redis.call('GET', KEYS[3]) or 0)
if mine + mine_running >= client_limit then return {2, 0} end

-- GCRA: `full` is when the bucket holds `capacity` tokens again; a token is free while
-- full - now <= (capacity - 1) * interval.
local full = math.max(tonumber(redis.call('GET', KEYS[2]) or 0), now)
local burst = (capacity - 1) * interval
if full - now > burst then return {1, full - now - burst} end
full = full + interval
redis.call('SET', KEYS[2], string.format('%d', full), 'PX', full - now)

redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return {0, 0}

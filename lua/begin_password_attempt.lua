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
same keys and client.

Every client of a link shares two hashes, so deleting a link can name them (delete_link):
  failures  field <client> = '<wrong passwords> <window end, ms since the epoch>'; the hash's
            TTL is the window, refreshed by every failure (finish_password_attempt), so it
            outlives every window it holds; an entry whose window has ended is empty.
  running   field <client> = '<checks running> <hold end, ms>'; the hash's TTL is the hold,
            refreshed by every check that begins; an entry whose hold has ended is empty (a
            process that died mid-check left it).
An entry that does not read as two numbers is empty. Neither hash holds more than `fields`
entries: a scanner with many addresses could otherwise fill one (every check takes a token,
so with the link bucket's numbers far fewer entries are ever live at once). Before a new
client's entry would pass the cap, ended entries are dropped; if every entry is still live,
the one whose window (or hold) ends first is dropped: that client starts afresh, a gap the
link's bucket still bounds, where refusing every newcomer would lock the rightful user out.

KEYS[1]  the link's failures, all clients ({prefix}:pwfail:{code}), a hash as above
KEYS[2]  the link's bucket: when it is full again, ms since the epoch ({prefix}:pwrate:{code})
KEYS[3]  the link's checks running now, all clients ({prefix}:pwpend:{code}), a hash as above
ARGV[1]  the client (its IP address or IPv6 /64 network)
ARGV[2]  failures allowed per client in a window
ARGV[3]  the link's bucket capacity (checks)
ARGV[4]  the link's refill interval, ms per check
ARGV[5]  how long a running check may hold its place, ms (a crashed process frees it then)
ARGV[6]  window, seconds: given to a failures hash holding a lock-out found without a TTL,
         so no hash lasts forever
ARGV[7]  the most entries (clients) either hash holds
ARGV[8]  now, ms since the epoch; '' or absent for the server's clock (only tests pass one)

Returns {outcome, ms}
  outcome 0: go, the check holds its place (and the link's token) now
          1: locked out; ms until this client may try again (the Retry-After)
          2: busy, earlier checks of this client still run; ask again shortly
]]
local failures, bucket, running = KEYS[1], KEYS[2], KEYS[3]
local client = ARGV[1]
local client_limit = tonumber(ARGV[2])
local capacity, interval = tonumber(ARGV[3]), tonumber(ARGV[4])
local hold_ms, window_s, max_fields = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
--- @include "client_entries"
local now = clock_ms(ARGV[8])

local mine, window_ends = entry(redis.call('HGET', failures, client), now)
if mine >= client_limit then
  if redis.call('PTTL', failures) < 0 then redis.call('EXPIRE', failures, window_s) end
  return {1, window_ends - now}
end

local mine_running, _ = entry(redis.call('HGET', running, client), now)
if mine + mine_running >= client_limit then return {2, 0} end

-- GCRA: `full` is when the bucket holds `capacity` tokens again; a token is free while
-- full - now <= (capacity - 1) * interval.
local full = math.max(tonumber(redis.call('GET', bucket) or 0), now)
local burst = (capacity - 1) * interval
if full - now > burst then return {1, full - now - burst} end
full = full + interval
redis.call('SET', bucket, string.format('%d', full), 'PX', full - now)

if redis.call('HEXISTS', running, client) == 0 then make_room(running, max_fields, now) end
redis.call('HSET', running, client, string.format('%d %d', mine_running + 1, now + hold_ms))
redis.call('PEXPIRE', running, hold_ms)
return {0, 0}

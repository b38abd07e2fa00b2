--[[ finish_password_attempt: end a check begun by begin_password_attempt, atomically.

A wrong password counts one failure for the client. Its window starts at its first failure and
is never extended, so a lock-out ends by itself when its window closes. A right password clears
the client's own failures. The link's bucket is left alone: the check took its token already.
The two hashes, their entries ('<count> <end, ms>') and their cap are begin_password_attempt's:
every failure sets the failures hash's TTL to the window again, so the hash outlives every
window it holds and goes once the link has had no failure for a window.

KEYS[1]  the link's failures, all clients ({prefix}:pwfail:{code}), a hash
KEYS[2]  the link's bucket ({prefix}:pwrate:{code}); not touched, given so both scripts
         take the same keys
KEYS[3]  the link's checks running now, all clients ({prefix}:pwpend:{code}), a hash
ARGV[1]  the client, as given to begin_password_attempt
ARGV[2]  1 when the password was wrong, 0 when it was right
ARGV[3]  window, seconds
ARGV[4]  the most entries (clients) the failures hash holds
ARGV[5]  now, ms since the epoch; '' or absent for the server's clock (only tests pass one)

Returns this client's failures
]]
local failures, running = KEYS[1], KEYS[3]
local client = ARGV[1]
local window_s, max_fields = tonumber(ARGV[3]), tonumber(ARGV[4])
--- @include "client_entries"
local now = clock_ms(ARGV[5])

-- Free the place; an ended hold (its process was slow or died) is gone already.
local mine_running, hold_ends = entry(redis.call('HGET', running, client), now)
if mine_running > 1 then
  redis.call('HSET', running, client, string.format('%d %d', mine_running - 1, hold_ends))
else
  redis.call('HDEL', running, client)
end

if ARGV[2] ~= '1' then
  redis.call('HDEL', failures, client)
  return 0
end

local mine, window_ends = entry(redis.call('HGET', failures, client), now)
if mine == 0 then
  -- First failure of a window.
  window_ends = now + window_s * 1000
  if redis.call('HEXISTS', failures, client) == 0 then make_room(failures, max_fields, now) end
end
mine = mine + 1
redis.call('HSET', failures, client, string.format('%d %d', mine, window_ends))
redis.call('EXPIRE', failures, window_s)
return mine

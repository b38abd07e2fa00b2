--[[ finish_password_attempt: end a check begun by begin_password_attempt, atomically.

A wrong password counts one failure for the client and one for the link. Each failure
counter's window starts at its first failure and is never extended, so a lock-out ends by
itself when its window closes. A right password clears the client's own failures (not the
link's: those are other clients' guesses).

KEYS[1]  this client's failures on the link ({prefix}:pwfail:{code}:{client})
KEYS[2]  all clients' failures on the link ({prefix}:pwfail:{code})
KEYS[3]  this client's checks running now ({prefix}:pwpend:{code}:{client})
KEYS[4]  all clients' checks running now ({prefix}:pwpend:{code})
ARGV[1]  1 when the password was wrong, 0 when it was right
ARGV[2]  window, seconds

Returns {this client's failures, all clients' failures}
]]
for i = 3, 4 do
  if redis.call('DECR', KEYS[i]) <= 0 then redis.call('DEL', KEYS[i]) end
end

if ARGV[1] ~= '1' then
  redis.call('DEL', KEYS[1])
  return {0, tonumber(redis.call('GET', KEYS[2]) or 0)}
end

local window = tonumber(ARGV[2])
local mine = redis.call('INCR', KEYS[1])
-- TTL -1: first failure, or a counter that somehow lost its TTL; never one that lasts forever.
if mine == 1 or redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], window) end
local all = redis.call('INCR', KEYS[2])
if all == 1 or redis.call('TTL', KEYS[2]) == -1 then redis.call('EXPIRE', KEYS[2], window) end
return {mine, all}

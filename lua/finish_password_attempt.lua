--[[ finish_password_attempt: end a check begun by begin_password_attempt, atomically.

A wrong password counts one failure for the client. Its window starts at its first failure and
is never extended, so a lock-out ends by itself when its window closes. A right password clears
the client's own failures. The link's bucket is left alone: the check took its token already.

KEYS[1]  this client's failures on the link ({prefix}:pwfail:{code}:{client})
KEYS[2]  the link's bucket ({prefix}:pwrate:{code}); not touched, given so both scripts
         take the same keys
KEYS[3]  this client's checks running now ({prefix}:pwpend:{code}:{client})
ARGV[1]  1 when the password was wrong, 0 when it was right
ARGV[2]  window, seconds

Returns this client's failures
]]
if redis.call('DECR', KEYS[3]) <= 0 then redis.call('DEL', KEYS[3]) end

if ARGV[1] ~= '1' then
  redis.call('DEL', KEYS[1])
  return 0
end

local mine = redis.call('INCR', KEYS[1])
-- TTL -1: first failure, or a counter that somehow lost its TTL; never one that lasts forever.
if mine == 1 or redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return mine

--[[ record_password_failure: count one wrong password, per client and per link, atomically.

Each counter's window starts at its first failure and is never extended, so a lock-out ends
by itself when the window closes.

KEYS[1]  this client's failures on the link ({prefix}:pwfail:{code}:{client})
KEYS[2]  all clients' failures on the link ({prefix}:pwfail:{code})
ARGV[1]  window, seconds

Returns {this client's failures, all failures, ms until this client's window closes}
]]
local window = tonumber(ARGV[1])
local mine = redis.call('INCR', KEYS[1])
if mine == 1 then redis.call('EXPIRE', KEYS[1], window) end
local all = redis.call('INCR', KEYS[2])
if all == 1 then redis.call('EXPIRE', KEYS[2], window) end
return {mine, all, redis.call('PTTL', KEYS[1])}

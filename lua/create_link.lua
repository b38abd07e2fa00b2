--[[ create_link: store a new link unless its code is taken, with its TTL, atomically.

KEYS[1]  link hash ({prefix}:link:{code})
ARGV[1]  when the keys expire, ms since the epoch (expiresAt + retention), or '' for never
ARGV[2..] field, value, field, value, ...: the link's hash

Returns 1 when created, 0 when the code is taken (a link in its retention still holds its code).
]]
local link = KEYS[1]
if redis.call('EXISTS', link) == 1 then return 0 end
redis.call('HSET', link, unpack(ARGV, 2))
if ARGV[1] ~= '' then redis.call('PEXPIREAT', link, ARGV[1]) end
return 1

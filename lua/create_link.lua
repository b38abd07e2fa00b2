--[[ create_link: store a new link unless its code is taken, with its TTL, atomically.

The creation time comes from the server's clock, the same clock that stamps the listing
index's entry IDs: an index entry belongs to the link now holding its code exactly when the
entry is not older than the link's creation second.

KEYS[1]  link hash ({prefix}:link:{code})
ARGV[1]  when the keys expire, ms since the epoch (expiresAt + retention), or '' for never
ARGV[2]  now, ms since the epoch; '' for the server's clock (only tests pass one)
ARGV[3..] field, value, field, value, ...: the link's hash, without its creation time

Returns the creation time in seconds since the epoch (stored as field 'c'), or 0 when the code
is taken (a link in its retention still holds its code).
]]
local link = KEYS[1]
if redis.call('EXISTS', link) == 1 then return 0 end
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local created = math.floor(now / 1000)
redis.call('HSET', link, 'c', created, unpack(ARGV, 3))
if ARGV[1] ~= '' then redis.call('PEXPIREAT', link, ARGV[1]) end
return created

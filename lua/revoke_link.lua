--[[ revoke_link: mark a link revoked (idempotent) and let its keys expire after the retention.

KEYS[1]  link hash ({prefix}:link:{code})
KEYS[2..n]  optional: the link's other keys (its stats), given the link hash's TTL
ARGV[1]  retention, seconds
ARGV[2]  now, ms since the epoch; optional ('' or absent), only tests pass it (the server's
         clock otherwise)
ARGV[3]  optional: a tag (teardown by tag); only a link carrying it is revoked

Returns the link's hash as a flat field, value list after revocation; empty when unknown.
With a tag: {1} when this call revoked the link, {0} otherwise (no link, not carrying the
tag, or revoked before).
A second revocation changes nothing: the first revokedAt and TTL stand.
]]
local link = KEYS[1]
local tag = ARGV[3] or ''
if redis.call('EXISTS', link) == 0 then
  if tag ~= '' then return {0} end
  return {}
end
if tag ~= '' then
  local tags = redis.call('HGET', link, 'g')
  if not tags or not string.find(',' .. tags .. ',', ',' .. tag .. ',', 1, true) then return {0} end
  if redis.call('HEXISTS', link, 'r') == 1 then return {0} end
end
if redis.call('HEXISTS', link, 'r') == 0 then
  local now
  if ARGV[2] and ARGV[2] ~= '' then
    now = tonumber(ARGV[2])
  else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  redis.call('HSET', link, 'r', string.format('%.0f', now))
  -- Never lengthen a TTL: an expired link keeps the end it already has.
  local retention = tonumber(ARGV[1]) * 1000
  local ttl = redis.call('PTTL', link)
  if ttl < 0 or ttl > retention then redis.call('PEXPIRE', link, retention) end
  ttl = redis.call('PTTL', link)
  for i = 2, #KEYS do
    if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) end -- no-op for a key not there
  end
  if tag ~= '' then return {1} end
end
return redis.call('HGETALL', link)

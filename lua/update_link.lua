--[[ update_link: change a link's fields and recompute its keys' TTL, in one atomic step.

The new values and the views counted so far decide the link's state, so a view counted by
resolve_link before or after this step is always checked against the limit then in force.
A link that is expired or exhausted but still held becomes active again when the change
gives it room: its TTL goes back to expiresAt + retention (or none). Views are never reset.

KEYS[1]     link hash ({prefix}:link:{code})
KEYS[2..n]  the link's other keys (its stats): given the link hash's TTL
ARGV[1]     retention, seconds
ARGV[2]     now, ms since the epoch; '' for the server's clock (only tests pass one)
ARGV[3]     '1' when the change sets the target URL (refused on a file link), else '0'
ARGV[4..]   field, value, field, value, ...: '' as the value removes the field

Returns {status, old tags, field, value, ...}
  status 0: changed; the rest is the old tags field ('' when none) and the hash as it is now
         1: no such link      2: revoked, nothing changed      3: a file link's target
]]
local link = KEYS[1]
local f = redis.call('HMGET', link, 'c', 'r', 'k', 'g', 'm', 'v')
if not f[1] then return {1} end
if f[2] then return {2} end
if ARGV[3] == '1' and f[3] == 'f' then return {3} end

local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local retention = tonumber(ARGV[1]) * 1000
local was_exhausted = f[5] and tonumber(f[6] or 0) >= tonumber(f[5])

for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', link, ARGV[i])
  else
    redis.call('HSET', link, ARGV[i], ARGV[i + 1])
  end
end

local g = redis.call('HMGET', link, 'e', 'm', 'v')
local expires, max_views, views = tonumber(g[1]), tonumber(g[2]), tonumber(g[3] or 0)
-- The end the link's values give it: expiresAt + retention, or never.
local ends = expires and (expires + retention)
if max_views and views >= max_views then
  -- Exhausted: held for the retention from when it ran out (now, if this change did it).
  local out = now + retention
  if was_exhausted then
    local ttl = redis.call('PTTL', link)
    if ttl > 0 then out = math.min(out, now + ttl) end
  end
  if not ends or out < ends then ends = out end
end
if ends then
  redis.call('PEXPIREAT', link, string.format('%.0f', ends))
else
  redis.call('PERSIST', link)
end
local ttl = redis.call('PTTL', link)
for i = 2, #KEYS do
  if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) else redis.call('PERSIST', KEYS[i]) end
end
local reply = {0, f[4] or ''}
for _, item in ipairs(redis.call('HGETALL', link)) do reply[#reply + 1] = item end
return reply

--[[ resolve_link: check a link and count one view, in one atomic step.

Expiry, revocation and remaining views are read and the counter is bumped inside one script,
so N clients racing for a link with maxViews K get exactly K passes.

KEYS[1]  link hash ({prefix}:link:{code})
ARGV[1]  mode: 0 = count one view, unless the link needs a password
               1 = peek: check only, count nothing (HEAD, previews, the password form)
               2 = count one view; the caller has verified the password
ARGV[2]  retention, seconds: how long a link that just ran out of views still answers 410
ARGV[3]  now, ms since the epoch; optional, only tests pass it (the server's clock otherwise)

Returns {status, target, kind, file name, file size, content type, password hash}
  (the order of shared/scripts.py's ResolveReply: Lua indices are one more)
  status: 0 ok, 1 not found, 2 expired, 3 exhausted, 4 revoked, 5 password required
  Only status 0, and status 5 in peek mode, carry the other fields; the password hash is
  returned in peek mode only. Absent fields are nil.
]]
local link = KEYS[1]
local f = redis.call('HMGET', link, 't', 'e', 'm', 'v', 'p', 'r', 'k', 'fn', 'fs', 'ct')
local target, expires, max_views, views, password, revoked = f[1], f[2], f[3], f[4], f[5], f[6]

if not target then return {1} end
if revoked then return {4} end

local now
if ARGV[3] and ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

if expires and now >= tonumber(expires) then return {2} end
views = tonumber(views or 0)
max_views = max_views and tonumber(max_views)
if max_views and views >= max_views then return {3} end

local mode = ARGV[1]
if mode == '1' then
  if password then return {5, target, f[7], f[8], f[9], f[10], password} end
  return {0, target, f[7], f[8], f[9], f[10]}
end
if password and mode ~= '2' then return {5} end

views = redis.call('HINCRBY', link, 'v', 1)
redis.call('HSET', link, 'l', string.format('%.0f', now))
if max_views and views >= max_views then
  -- The last view: the link answers 410 for the retention, then its keys go.
  local retention = tonumber(ARGV[2]) * 1000
  local ttl = redis.call('PTTL', link)
  if ttl < 0 or ttl > retention then redis.call('PEXPIRE', link, retention) end
end
return {0, target, f[7], f[8], f[9], f[10]}

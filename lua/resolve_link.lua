--[[ resolve_link: check a link and count one view, in one atomic step.

Expiry, revocation and remaining views are read and the counter is bumped inside one script,
so N clients racing for a link with maxViews K get exactly K passes. The view's stats are
recorded in the same step, so they are exact too: K views in the link, in its days, in its
device classes and in its referrers.

KEYS[1]  link hash ({prefix}:link:{code})
KEYS[2]  optional: the link's stats hash ({prefix}:stats:{code}); recording is off without it
KEYS[3]  the link's previews hash ({prefix}:stats:{code}:previews); needed with KEYS[2]
KEYS[4]  optional: today's service totals hash ({prefix}:totals:{YYYY-MM-DD}). A single server
         only: on Redis Cluster it sits in another slot, and the caller counts the totals itself
ARGV[1]  mode: 0 = count one view, unless the link needs a password or a click
               1 = peek: check only, count nothing (HEAD, the password form)
               2 = count one view; the caller has verified the password
               3 = preview: check only, like peek, and record one link-preview fetch
               4 = count one view; the person clicked "Open link" (a password still rules)
ARGV[2]  retention, seconds: how long a link that just ran out of views still answers 410
ARGV[3]  now, ms since the epoch; optional ('' or absent), only tests pass it (the server's
         clock otherwise)
ARGV[4]  the view's referrer host: '' when no Referer was sent, '*' for one without a usable
         host (counted as "other"); at most 60 bytes
ARGV[5]  the view's device class: 'd' desktop, 'm' mobile, 't' tablet, 'o' other

Returns {status, target, kind, file name, file size, content type, password hash, view-limited}
  (the order of shared/scripts.py's ResolveReply: Lua indices are one more)
  status: 0 ok, 1 not found, 2 expired, 3 exhausted, 4 revoked, 5 password required,
          6 click required (a clickToOpen link, field 'o', asked in mode 0)
  Only status 0, and status 5 or 6 in peek and preview modes, carry the other fields; the
  password hash is returned in those modes only. Absent fields are nil. With a password, the
  password form is the click: such a link answers 5, never 6. View-limited (1 when maxViews
  is set) is returned in peek and preview modes only: HEAD and previews must not show the target
  of a link whose every reading costs a view. Fields before it that are absent are false (nil
  in the reply), so the reply is not cut short.

Stats hash fields (created by the first view, never at creation: a link never followed costs
nothing more): '<day>' views that UTC day (days since 1970-01-01, the last 90 kept), 'r<host>'
views by referrer host ('r' none sent, 'r*' other), 'h' named hosts held (at most 20, later
ones count as other), 'dd' 'dm' 'dt' 'do' views by device class. Previews hash: '<day>'
previews that day, 't' all previews. Both keys expire with the link hash.
Totals hash fields: 'v' views, 'p' previews, 'n' not found (404), 'g' gone (410).
]]
local MAX_HOSTS = 20
local KEEP_DAYS = 90
local TOTALS_TTL = (KEEP_DAYS + 2) * 86400 -- seconds: past the 90-day window, whatever the hour

local link, stats, previews, totals = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mode = ARGV[1]
local peeking = mode == '1'

local function total(field)
  if totals and not peeking then
    if redis.call('HINCRBY', totals, field, 1) == 1 then redis.call('EXPIRE', totals, TOTALS_TTL) end
  end
end

local f = redis.call('HMGET', link, 't', 'e', 'm', 'v', 'p', 'r', 'k', 'fn', 'fs', 'ct', 'o')
local target, expires, max_views, views, password, revoked = f[1], f[2], f[3], f[4], f[5], f[6]

if not target then total('n') return {1} end
if revoked then total('g') return {4} end

local now
if ARGV[3] and ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

if expires and now >= tonumber(expires) then total('g') return {2} end
views = tonumber(views or 0)
max_views = max_views and tonumber(max_views)
if max_views and views >= max_views then total('g') return {3} end

local day = math.floor(now / 86400000)

-- Stats keys end when the link hash does (the same PTTL), or never when it never does.
local function expire_with_link(key)
  local ttl = redis.call('PTTL', link)
  local own = redis.call('PTTL', key)
  if ttl > 0 then
    if own ~= ttl then redis.call('PEXPIRE', key, ttl) end
  elseif own > 0 then
    redis.call('PERSIST', key)
  end
end

-- A day's first count (the key's first ever, too) drops the days that left the 90-day window
-- and gives the key the link's TTL: once a day per link, not on every view. Revoking and the
-- last allowed view set the TTL themselves.
local function count_day(key)
  if redis.call('HINCRBY', key, day, 1) == 1 then
    local first = day - KEEP_DAYS + 1
    for _, name in ipairs(redis.call('HKEYS', key)) do
      local old = tonumber(name)
      if old and old < first then redis.call('HDEL', key, name) end
    end
    expire_with_link(key)
  end
end

if peeking or mode == '3' then
  if mode == '3' and stats then
    count_day(previews)
    redis.call('HINCRBY', previews, 't', 1)
    total('p')
  end
  local kind, name, size, ctype = f[7] or false, f[8] or false, f[9] or false, f[10] or false
  local limited = max_views and 1 or false
  if password then return {5, target, kind, name, size, ctype, password, limited} end
  if f[11] then return {6, target, kind, name, size, ctype, false, limited} end
  return {0, target, kind, name, size, ctype, false, limited}
end
if password and mode ~= '2' then return {5} end
-- A GET never spends the view of a click-to-open link: scanners and prefetchers only GET.
if f[11] and mode == '0' then return {6} end

views = redis.call('HINCRBY', link, 'v', 1)
redis.call('HSET', link, 'l', string.format('%.0f', now))
if max_views and views >= max_views then
  -- The last view: the link answers 410 for the retention, then its keys go.
  local retention = tonumber(ARGV[2]) * 1000
  local ttl = redis.call('PTTL', link)
  if ttl < 0 or ttl > retention then redis.call('PEXPIRE', link, retention) end
end

if stats then
  count_day(stats)
  local host = ARGV[4] or ''
  local field = 'r' .. host
  if redis.call('HINCRBY', stats, field, 1) == 1 and host ~= '' and host ~= '*' then
    -- A new host: held while there is room, else counted as other, so memory stays bounded.
    if redis.call('HINCRBY', stats, 'h', 1) > MAX_HOSTS then
      redis.call('HDEL', stats, field)
      redis.call('HINCRBY', stats, 'h', -1)
      redis.call('HINCRBY', stats, 'r*', 1)
    end
  end
  local device = ARGV[5]
  if device ~= 'd' and device ~= 'm' and device ~= 't' then device = 'o' end
  redis.call('HINCRBY', stats, 'd' .. device, 1)
  if max_views and views >= max_views then -- the retention: the link's, now
    expire_with_link(stats)
    expire_with_link(previews)
  end
  total('v')
end
return {0, target, f[7], f[8], f[9], f[10]}

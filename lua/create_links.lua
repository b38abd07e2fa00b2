--[[ create_links: create_link for several links in one call, each link on its own.

What a pipeline of one create_link a link does, without a command and a reply a link to pack
and parse in Python. Its keys lie in different slots: on a single server only.

KEYS[1]..KEYS[n]  the links' hashes ({prefix}:link:{code})
ARGV[1..]         for each link, in KEYS' order, four parts: when its keys expire, ms since
                  the epoch (expiresAt + retention), or '' for never; now, ms since the epoch
                  (its index entry's); how many values its hash has (2 a field); those field,
                  value, ... values, without the creation time

Returns one reply a link, in order, as create_link's: the creation time in seconds since the
epoch (stored as field 'c'), 0 when the code is taken, or the error its HSET met (then nothing
of that link was stored: a server out of memory refuses a script's first write).
]]
local replies = {}
local at = 1
for i, link in ipairs(KEYS) do
  local expire, now, count = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local first = at + 3
  at = first + count
  if redis.call('EXISTS', link) == 1 then
    replies[i] = 0
  else
    local created = math.floor(now / 1000)
    local stored = redis.pcall('HSET', link, 'c', created, unpack(ARGV, first, at - 1))
    if type(stored) == 'table' and stored.err then
      replies[i] = stored
    else
      if expire ~= '' then redis.call('PEXPIREAT', link, expire) end
      replies[i] = created
    end
  end
end
return replies

-- client_entries: what begin_password_attempt and finish_password_attempt share, pasted into
-- both at their include line (shared.scripts does it when it reads them, so each still runs as
-- one script with one digest). A link's password hashes keep an entry a
-- client: '<count> <end, ms since the epoch>'.

-- Now in ms since the epoch: `given` when a test passes one, else the server's clock.
local function clock_ms(given)
  if given and given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- An entry: count and end (ms); 0, 0 when absent, unreadable or ended by `now`.
local function entry(value, now)
  if not value then return 0, 0 end
  local count, ends = string.match(value, '^(%d+) (%d+)$')
  if not count or tonumber(ends) <= now then return 0, 0 end
  return tonumber(count), tonumber(ends)
end

-- Room for one more entry in a hash that holds at most `max_fields`: drop ended entries, then
-- (all live) the one that ends first.
local function make_room(hash, max_fields, now)
  if redis.call('HLEN', hash) < max_fields then return end
  local all = redis.call('HGETALL', hash)
  local live, first, first_ends = 0, nil, nil
  for i = 1, #all, 2 do
    local count, ends = entry(all[i + 1], now)
    if count == 0 then
      redis.call('HDEL', hash, all[i])
    else
      live = live + 1
      if not first_ends or ends < first_ends then first, first_ends = all[i], ends end
    end
  end
  if live >= max_fields then redis.call('HDEL', hash, first) end
end

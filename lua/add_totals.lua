--[[ add_totals: add counts made in the process to one day's service totals.

The redirector counts in the process what resolve_link cannot count itself (on Redis Cluster
the totals hash sits in a slot of its own; a 404 answered without any script call) and sends
the sums once a loop tick through its script pipeline, beside the resolve_link calls.

KEYS[1]  the day's service totals hash ({prefix}:totals:{YYYY-MM-DD})
ARGV[1]  the hash's TTL, seconds (past the 90-day window, whatever the hour)
ARGV[2], ARGV[3], ...  field, count pairs: 'v' views, 'p' previews, 'n' 404s, 'g' 410s

Returns the number of fields added to.
]]
local totals = KEYS[1]
local pairs_given = (#ARGV - 1) / 2
for i = 1, pairs_given do
  redis.call('HINCRBY', totals, ARGV[2 * i], ARGV[2 * i + 1])
end
redis.call('EXPIRE', totals, ARGV[1])
return pairs_given

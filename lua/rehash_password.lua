--[[ rehash_password: replace a link's password hash made with weaker parameters.

Only when the stored hash is still the one that was verified, and only on a link that still
exists: HSET alone would bring a deleted link back as a half-empty hash.

KEYS[1]  link hash ({prefix}:link:{code})
ARGV[1]  the hash that was verified
ARGV[2]  the new hash

Returns 1 when replaced, 0 otherwise.
]]
if redis.call('HGET', KEYS[1], 'p') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[2])
return 1

--[[ delete_link: remove a link and every key under its hash tag at once, freeing its code.

KEYS[1]     link hash ({prefix}:link:{code})
KEYS[2..n]  the link's other keys (stats, password counters): deleted with it
ARGV[1]     optional: a tag; the link is deleted only when it carries it (teardown by tag)

Returns the link's hash as it was, as a flat field, value list; empty when there was no
link (or it did not carry the tag), and then nothing is deleted.
]]
local link = KEYS[1]
local fields = redis.call('HGETALL', link)
if #fields == 0 then return {} end
if ARGV[1] and ARGV[1] ~= '' then
  local tags = redis.call('HGET', link, 'g')
  if not tags or not string.find(',' .. tags .. ',', ',' .. ARGV[1] .. ',', 1, true) then
    return {}
  end
end
redis.call('DEL', unpack(KEYS))
return fields

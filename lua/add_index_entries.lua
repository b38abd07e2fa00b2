--[[ add_index_entries: the listing index's entries of a batch's links, in one call, in order.

What a pipeline of one XADD a link does, without a command and a reply a link to pack and
parse in Python (most of a batch's cost). The stream is one key, so this runs on a cluster too.

KEYS[1]     the listing index stream ({prefix}:index)
ARGV[1]     the entry's one field name (the link's code goes there)
ARGV[2..n]  the links' codes, one entry each, in this order

Returns one reply a code, in order: the entry's ID, or the error its XADD met (each XADD is
called on its own, so the entries written before an error stay, as in a pipeline). A server
out of memory refuses a script's first write, so then every entry fails alike.
]]
local ids = {}
for i = 2, #ARGV do
  ids[i - 1] = redis.pcall('XADD', KEYS[1], '*', ARGV[1], ARGV[i])
end
return ids

--[[ claim_idempotency_key: be the one request of an Idempotency-Key, or learn what came first.

One step, so of any number of requests racing with one key exactly one is told to go on.
The claim holds only for a lease: a process that dies mid-request frees the key after it.
The finished request replaces the claim by its answer, kept 24 hours.

KEYS[1]  the key's record ({prefix}:idem:{<api key id>:<sha256 of the Idempotency-Key>})
ARGV[1]  the request's fingerprint (SHA-256 of route and body); '' when not known yet (an
         upload's, known once its file is read)
ARGV[2]  lease, ms

Returns {0} claimed: go on, then store the answer
        {1, fingerprint, status, body, location}: an earlier request holds the key; status is
        nil while it still runs
]]
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  redis.call('HSET', record, 'f', ARGV[1])
  redis.call('PEXPIRE', record, ARGV[2])
  return {0}
end
local f = redis.call('HMGET', record, 'f', 's', 'b', 'l')
return {1, f[1], f[2], f[3], f[4]}

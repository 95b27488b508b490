--[[
  One step of `fail-account` over one group's unresolved lists: fails the updates addressed by a unique
  property's value whose record is not known yet (ingest.lua, settle.lua put them there; resolve.lua would move
  them to their record, where they would be sent), as fail-account.lua fails the others (failed, OPERATOR_FAILED,
  the operator's message; jobs kept, with their sequence, for `retry-failed`). They leave their lists, and an
  address left with nothing leaves the group's zset. A group is one account's, so everything here is the account's.

  Bounded: an address's list can be long and a group can wait on many addresses (no worker can resolve them, or
  they are far behind), so one call fails at most ARGV[8] updates (one HGET and one JSON decode each), oldest
  address first (the zset's order), each list from its head; the caller calls again until `done`. A call that
  stops inside a list trims what it failed, and failed updates are gone, so the next call goes on from the zset's
  head without a cursor. A dry run removes nothing: it counts the lists (LLEN, no decoding) of at most ARGV[8]
  addresses from the ARGV[9]th on, and the caller passes on how many it counted.

  Alongside resolve.lua: it moves or fails an address's whole list at once, so an update is either still here
  (failed by this script) or already in its record's list (failed there by fail-account.lua, which runs after) or
  finished; a resolution that reads a list this script emptied moves nothing.

  KEYS[1] unresolved-addresses zset of the group
  KEYS[2] stats hash
  KEYS[3] result key of this call (the request's id, the pass, the group and the call's number)

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`; finish.lua)
  ARGV[3] account
  ARGV[4] outcome TTL seconds
  ARGV[5] error message
  ARGV[6] '1' for a dry run: count what would fail and change nothing
  ARGV[7] seconds to keep this call's result
  ARGV[8] updates to fail at most (in a dry run: addresses to count)
  ARGV[9] dry run only: addresses counted by the calls before

  Returns: { failed (in a dry run: would fail), 1 when the group has nothing left to go through else 0,
             addresses finished (taken off the zset; in a dry run: counted), addresses in the zset when the call
             began }

  Run twice: the result is stored under KEYS[3] and a re-run returns it without touching anything. Without it a
  re-run would fail nothing twice (failed updates left their lists and have an outcome); it would go on with the
  next updates, and the caller's count would be off by what it failed.
]]
local rcall = redis.call
local account, ttl, message = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local dryRun = ARGV[6] == '1'
local chunk = tonumber(ARGV[8])
if not dryRun then
  local stored = rcall('GET', KEYS[3])
  if stored then return cjson.decode(stored) end
end
local card = rcall('ZCARD', KEYS[1])

if dryRun then
  local from = tonumber(ARGV[9]) or 0
  local addrs = rcall('ZRANGE', KEYS[1], from, from + chunk - 1)
  local n = 0
  for _, addrKey in ipairs(addrs) do n = n + rcall('LLEN', K.unresolved(addrKey)) end
  return { n, #addrs < chunk and 1 or 0, #addrs, card }
end

local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local budget = chunk
local failed, finished = 0, 0
-- At most `chunk` addresses: each costs at least one unit of the budget.
for _, addrKey in ipairs(rcall('ZRANGE', KEYS[1], 0, chunk - 1)) do
  if budget <= 0 then break end
  local listKey = K.unresolved(addrKey)
  local len = rcall('LLEN', listKey)
  local entries = len > 0 and rcall('LRANGE', listKey, 0, budget - 1) or {}
  local _, objectType, idProperty, value = K.parseObjectKey(addrKey)
  for _, entry in ipairs(entries) do
    local seq, ts, attempts, jobId, interactive = K.parseEntry(entry)
    local d, data = JobData.read(jobId)
    Outcome.finish(jobId, {
      trace = JobData.trace(d, jobId),
      status = 'failed', account = account, objectType = objectType,
      -- As the update gave it (the address is normalized: emails lower-cased).
      id = type(d.id) == 'string' and d.id or value, idProperty = idProperty,
      attempts = attempts, enqueuedAt = ts, finishedAt = now,
      error = { category = 'OPERATOR_FAILED', message = message },
      fp = JobData.fingerprint(data), priority = interactive and 'interactive' or nil,
    }, seq, true, ttl)
  end
  failed = failed + #entries
  if #entries < len then
    rcall('LTRIM', listKey, #entries, -1)
    budget = 0
  else
    rcall('DEL', listKey)
    rcall('ZREM', KEYS[1], addrKey)
    finished = finished + 1
    budget = budget - math.max(1, #entries)
  end
end

Outcome.flush(KEYS[2])
-- Updates waiting for their address count as pending (ingest.lua); Redis rejects '-0' as an integer.
if failed > 0 then rcall('HINCRBY', KEYS[2], 'pending', -failed) end
local result = { failed, rcall('ZCARD', KEYS[1]) == 0 and 1 or 0, finished, card }
rcall('SET', KEYS[3], cjson.encode(result), 'EX', tonumber(ARGV[7]))
return result

--[[
  Keeps the dead-letter index and the failure counters true as failed outcomes expire. Removes index entries
  older than the outcome TTL, and entries whose outcome record is gone before that (evicted, or written with a
  shorter TTL); each entry removed comes off `failed:<category>` (the count of failed updates held for replay;
  `failed` counts failed outcomes since the queue was created and stays). The work per call is bounded:
  at most ARGV[4] entries by age, and ARGV[6] entries checked for their record, resuming at a cursor the caller
  keeps (a rank: entries removed meanwhile shift it, which only delays a check to the next pass).

  When the index is left empty, every per-category counter is dropped: no failed update is left to count, and
  counters that earlier versions never decremented when entries expired are brought back to zero.

  KEYS[1] failed zset (members `traceId|category|jobId`, or the earlier `jobId|traceId`)
  KEYS[2] stats hash

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] outcome TTL seconds
  ARGV[4] most entries to remove by age
  ARGV[5] where to resume checking for missing records: a rank among the entries younger than the TTL
  ARGV[6] most entries to check for a missing record (0: none)

  Returns: { entries removed by age, entries removed because their record was gone, next cursor }

  Run twice: harmless. A counter is decremented only for an entry this run removed (ZREM answered 1), so a
  re-run finds those entries gone and changes nothing; its counts are its own, and the cursor is only a hint.
]]
local rcall = redis.call
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local cutoff = now - tonumber(ARGV[3]) * 1000

-- Counters never go below zero, whatever an earlier version left behind; spent categories are dropped.
local function decrement(field)
  local n = tonumber(rcall('HGET', KEYS[2], field))
  if n == nil then return end
  if n > 1 then rcall('HINCRBY', KEYS[2], field, -1) else rcall('HDEL', KEYS[2], field) end
end

local function remove(member)
  if rcall('ZREM', KEYS[1], member) == 0 then return false end
  local trace, category = K.parseFailedMember(member)
  -- An entry of the earlier form names no category; its record tells, if it is still there.
  if trace and category == nil then category = K.categoryOfRecord(rcall('GET', K.outcome(trace))) end
  if category then decrement(K.failedStat(category)) end
  return true
end

local aged = 0
for _, member in ipairs(rcall('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[4]))) do
  if remove(member) then aged = aged + 1 end
end

local gone, cursor = 0, tonumber(ARGV[5])
local sweep = tonumber(ARGV[6])
if sweep > 0 then
  -- The sweep covers entries younger than the cutoff; older ones are the first part's (in later passes).
  local base = rcall('ZCOUNT', KEYS[1], '-inf', cutoff)
  local members = rcall('ZRANGE', KEYS[1], base + cursor, base + cursor + sweep - 1)
  for _, member in ipairs(members) do
    local trace = K.parseFailedMember(member)
    if trace and rcall('EXISTS', K.outcome(trace)) == 0 and remove(member) then gone = gone + 1 end
  end
  if #members < sweep then cursor = 0 else cursor = cursor + #members - gone end
end

if rcall('ZCARD', KEYS[1]) == 0 then
  local stats = rcall('HGETALL', KEYS[2])
  for i = 1, #stats, 2 do
    if K.isFailedStat(stats[i]) then rcall('HDEL', KEYS[2], stats[i]) end
  end
end
return { aged, gone, cursor }

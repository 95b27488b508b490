--[[
  Reports what is claimable, so a worker can decide where to spend its rate budget without claiming blindly.

  KEYS[1] groups set
  KEYS[2] wait list
  KEYS[3] interactive wait list

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)

  Run twice: reads, and drops empty groups; a second run answers the same.

  Returns: { now (ms), jobs still in the wait lists, group, pending objects, oldest enqueue time (-1 for none),
  addresses waiting for resolution, pending objects with interactive updates, group, ... }. A group with neither claimable objects nor addresses to resolve
  is dropped from the set (ingest, settle and resolve add it back).
]]
local rcall = redis.call
local t = rcall('TIME')
local out = { t[1] * 1000 + math.floor(t[2] / 1000), rcall('LLEN', KEYS[2]) + rcall('LLEN', KEYS[3]) }
for _, group in ipairs(rcall('SMEMBERS', KEYS[1])) do
  local key = K.pending(group)
  local n = rcall('ZCARD', key)
  local unresolved = rcall('ZCARD', K.unresolvedAddresses(group))
  -- The interactive zset is a subset of the pending one: with nothing pending it holds nothing claimable.
  local interactive = n > 0 and rcall('ZCARD', K.interactive(group)) or 0
  if n == 0 then rcall('DEL', K.interactive(group)) end
  if n == 0 and unresolved == 0 then
    rcall('SREM', KEYS[1], group)
  else
    local oldest = n > 0 and tonumber(rcall('ZRANGE', key, 0, 0, 'WITHSCORES')[2]) or -1
    out[#out + 1] = group
    out[#out + 1] = n
    out[#out + 1] = oldest
    out[#out + 1] = unresolved
    out[#out + 1] = interactive
  end
end
return out

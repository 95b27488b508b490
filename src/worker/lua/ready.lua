--[[
  Reports what is claimable, so a worker can decide where to spend its rate budget without claiming blindly.

  KEYS[1] groups set
  KEYS[2] wait list

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)

  Run twice: reads, and drops empty groups; a second run answers the same.

  Returns: { now (ms), jobs still in the wait list, group, pending objects, oldest enqueue time, group, ... }
  A group without claimable objects is dropped from the set (ingest and settle add it back).
]]
local rcall = redis.call
local t = rcall('TIME')
local out = { t[1] * 1000 + math.floor(t[2] / 1000), rcall('LLEN', KEYS[2]) }
for _, group in ipairs(rcall('SMEMBERS', KEYS[1])) do
  local key = K.pending(group)
  local n = rcall('ZCARD', key)
  if n == 0 then
    rcall('SREM', KEYS[1], group)
  else
    local oldest = rcall('ZRANGE', key, 0, 0, 'WITHSCORES')
    out[#out + 1] = group
    out[#out + 1] = n
    out[#out + 1] = tonumber(oldest[2])
  end
end
return out

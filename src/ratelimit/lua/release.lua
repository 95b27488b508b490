--[[
  Returns an unused grant: it leaves the log (HubSpot counts at arrival, and this call never left), the pacing
  schedule steps back one interval and the daily count drops when the grant was made today.

  KEYS[1] grant log: zset of grant id scored by grant time (ms)
  KEYS[2] state hash of the account

  ARGV[1] grant id

  Returns: 1 when the grant was returned, 0 when it was unknown (already released, or older than the log).
]]
local rcall = redis.call
local DAY = 86400000

local at = tonumber(rcall('ZSCORE', KEYS[1], ARGV[1]))
if not at then return 0 end
rcall('ZREM', KEYS[1], ARGV[1])

local s = rcall('HMGET', KEYS[2], 'tat', 'interval', 'dayResetAt', 'dayCount')
local tat, interval = tonumber(s[1]), tonumber(s[2])
if tat and interval then rcall('HSET', KEYS[2], 'tat', string.format('%.3f', tat - interval)) end
local dayResetAt, dayCount = tonumber(s[3]), tonumber(s[4])
if dayResetAt and dayCount and dayCount > 0 and at >= dayResetAt - DAY then
  rcall('HINCRBY', KEYS[2], 'dayCount', -1)
end
return 1

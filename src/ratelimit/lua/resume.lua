--[[
  Lifts an account's pause, whatever its reason, for every replica: an operator's decision.

  A daily stop would be found again at once (acquire.lua decides it on every call), so resuming also lets the
  day start over for the account: the configured daily budget counts from now (our calls of the day so far are
  kept for status), and HubSpot's last reported Daily-Remaining is forgotten: the next answer reports it afresh.

  KEYS[1] state hash of the account

  Run twice: the second run finds no pause; the day's count restarts from a few grants later, which only allows
  those few calls more.

  Returns: 1 when a pause (or a daily stop) was recorded, else 0.
]]
local rcall = redis.call
local key = KEYS[1]
local had = rcall('HEXISTS', key, 'pausedUntil')
rcall('HDEL', key, 'pausedUntil', 'pauseReason', 'pausePolicy', 'pauseDetail', 'pausedAt', 'pauseProbe', 'probeAt',
  'dailyStop', 'dailyBase', 'dailyBaseCount', 'dailyBaseAt')
local dayCount = rcall('HGET', key, 'dayCount')
if dayCount then rcall('HSET', key, 'dayResumeCount', dayCount) end
return had

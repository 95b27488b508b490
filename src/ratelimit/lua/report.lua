--[[
  Records what HubSpot reported at a call's arrival and updates the estimate of outside usage: calls by other
  clients of the same app and account (the backend's own direct calls) that spend the same budget.

    sample   = max(0, (reported Max - reported Remaining) - our grants in (at - window, at])
    decayed  = estimate * 0.5 ^ (max(0, elapsed - window) / window)  -- held a window, then halved per window
    sample   = max(sample, decayed + 1) when a 429 came back  -- HubSpot's count is capped there
    estimate = decayed + gain * (sample - decayed)          -- gain 'up' when sample > decayed, else 'down'

  Mirrored by src/ratelimit/estimate.ts; keep both in step.

  An accepted answer (no 429) to a call granted at or after a probe (acquire.lua: calls one at a time after a
  daily pause) ends the probing: HubSpot's day has reset, calls flow again. Unless its Daily-Remaining leaves
  nothing and the call was granted within the grace after our reset: HubSpot may still count its previous day,
  so the next probe comes `probe delay` ms later. A Daily-Remaining observed within the grace is recorded like
  any other (the newest figure wins); acquire.lua only probes, not stops, on one that leaves nothing.

  KEYS[1] grant log: zset of grant id scored by grant time (ms)
  KEYS[2] state hash of the account

  ARGV[1]  grant time of the observed call (ms), or '' when the call had no grant (then: now)
  ARGV[2]  reported Max, or ''
  ARGV[3]  reported Remaining, or ''
  ARGV[4]  reported Interval in ms, or ''
  ARGV[5]  reported Daily, or ''
  ARGV[6]  reported Daily-Remaining, or ''
  ARGV[7]  windowMs of the budget (HubSpot's reported interval is used once there is one, as acquire does)
  ARGV[8]  daily reset anchor (ms); resets repeat every 24 h from it, 0 is midnight UTC
  ARGV[9]  gain up
  ARGV[10] gain down
  ARGV[11] oldest grant age (ms) still sampled: older grants may have left the log
  ARGV[12] now in ms to use instead of the server clock (simulations and tests), or ''
  ARGV[13] '1' when the observed call was refused with a 429, else '0'
  ARGV[14] margin (ms) the limiter adds to the window: grants older than the window by up to this much may
           still have arrived inside HubSpot's window
  ARGV[15] reported Secondly (older keys' SECONDLY policy: calls per tenth of the window), or ''
  ARGV[16] grace after the daily reset (ms) in which a Daily-Remaining leaving nothing may be the previous day's
  ARGV[17] daily reserve
  ARGV[18] grant id of the observed call, or ''
  ARGV[19] probe delay (ms): the pause before the next probe after such an answer

  Run twice: the figures are recorded again unchanged (and a probe that ended stays ended); the outside-usage
  estimate takes the same sample twice, a step twice the gain towards it, which the next samples correct.

  Returns: {sample ('' when none was taken), estimate after the update, as strings}.
]]
local rcall = redis.call
local DAY = 86400000
local logKey, stateKey = KEYS[1], KEYS[2]

local now
if ARGV[12] ~= '' then
  now = math.floor(tonumber(ARGV[12]))
else
  local t = rcall('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local at = tonumber(ARGV[1]) or now
local reportedMax, remaining = tonumber(ARGV[2]), tonumber(ARGV[3])
local reportedInterval, daily, dailyRemaining = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local s = rcall('HMGET', stateKey, 'reportedInterval', 'outside', 'outsideAt', 'observedAt', 'dayCount', 'dayResetAt',
  'pauseProbe', 'probeAt')
local windowMs = reportedInterval or tonumber(s[1]) or tonumber(ARGV[7])

local anchor = tonumber(ARGV[8]) or 0
local nextReset = anchor + (math.floor((now - anchor) / DAY) + 1) * DAY
-- Just after our reset HubSpot's day may not have rolled over yet (its clock a little behind ours): a figure
-- leaving nothing may be its previous day's.
local staleDaily = dailyRemaining and dailyRemaining <= (tonumber(ARGV[17]) or 0)
  and at - (nextReset - DAY) < (tonumber(ARGV[16]) or 0)

local probeAt = tonumber(s[8])
if ARGV[13] ~= '1' and s[7] == '1' and probeAt and at >= probeAt then
  if staleDaily then
    -- Not yet HubSpot's new day: the next probe, a little later.
    rcall('HSET', stateKey, 'pausedUntil', now + (tonumber(ARGV[19]) or 1000), 'pauseReason', 'daily',
      'pausedAt', now, 'pauseDetail', "HubSpot's Daily-Remaining right after the daily reset leaves nothing "
        .. "(its day may not have rolled over yet): probing again shortly")
    rcall('HDEL', stateKey, 'probeAt', 'dailyStop', 'pausePolicy')
  else
    rcall('HDEL', stateKey, 'pausedUntil', 'pauseReason', 'pausePolicy', 'pauseDetail', 'pausedAt', 'pauseProbe',
      'probeAt', 'dailyStop')
  end
end

-- Reports may come back out of order; only a newer one replaces the figures shown by status.
local observedAt = tonumber(s[4])
local newest = not observedAt or at >= observedAt
if newest then
  local fields = {'observedAt', at}
  if reportedMax then fields[#fields + 1] = 'reportedMax'; fields[#fields + 1] = reportedMax end
  if remaining then fields[#fields + 1] = 'reportedRemaining'; fields[#fields + 1] = remaining end
  if reportedInterval then fields[#fields + 1] = 'reportedInterval'; fields[#fields + 1] = reportedInterval end
  if daily then fields[#fields + 1] = 'reportedDaily'; fields[#fields + 1] = daily end
  if dailyRemaining then fields[#fields + 1] = 'reportedDailyRemaining'; fields[#fields + 1] = dailyRemaining end
  local secondly = tonumber(ARGV[15])
  if secondly then fields[#fields + 1] = 'reportedSecondly'; fields[#fields + 1] = secondly end
  rcall('HSET', stateKey, unpack(fields))
end

local sample = ''
local estimate = tonumber(s[2]) or 0
if reportedMax and remaining and now - at <= tonumber(ARGV[11]) then
  local ours = rcall('ZCOUNT', logKey, '(' .. (at - windowMs - (tonumber(ARGV[14]) or 0)), at)
  local x = math.max(0, reportedMax - remaining - ours)
  local decayed = 0
  local outsideAt = tonumber(s[3])
  if estimate > 0 and outsideAt then decayed = estimate * 0.5 ^ (math.max(0, now - outsideAt - windowMs) / windowMs) end
  -- A refused call means HubSpot's count is capped, so the sample is only a lower bound: climb past the
  -- estimate rather than settle where our own calls already overflow the window. An accepted call with nothing
  -- remaining is exact (our own calls filled the window), so it must not raise the estimate.
  if ARGV[13] == '1' then x = math.max(x, decayed + 1) end
  local gain = tonumber(ARGV[10])
  if x > decayed then gain = tonumber(ARGV[9]) end
  estimate = math.max(0, decayed + gain * (x - decayed))
  sample = tostring(x)
  rcall('HSET', stateKey, 'outside', string.format('%.17g', estimate), 'outsideAt', now)
end

if dailyRemaining and newest then
  -- Acquire subtracts our grants since this report: remember the day count it corresponds to, i.e. today's
  -- count minus our grants made after the observed call.
  local dayCount = tonumber(s[5]) or 0
  local dayResetAt = tonumber(s[6])
  if not dayResetAt or now >= dayResetAt then
    dayCount = 0
    rcall('HSET', stateKey, 'dayCount', 0)
    rcall('HDEL', stateKey, 'dayResumeCount')
  end
  rcall('HSET', stateKey, 'dayResetAt', nextReset)
  local after = rcall('ZCOUNT', logKey, '(' .. at, '+inf')
  -- The observed call itself is not one of them, even when it left late and its grant was moved past `at`.
  local own = ARGV[18] ~= '' and tonumber(rcall('ZSCORE', logKey, ARGV[18]))
  if own and own > at then after = after - 1 end
  rcall('HSET', stateKey, 'dailyBase', dailyRemaining, 'dailyBaseCount', dayCount - after, 'dailyBaseAt', at)
end

if rcall('PTTL', stateKey) < 2 * DAY then rcall('PEXPIRE', stateKey, 2 * DAY) end
return {sample, string.format('%.17g', estimate)}

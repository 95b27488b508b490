--[[
  Grants one HubSpot call of an account, or says exactly how long until one can be granted. Atomic, on Redis's
  clock, so every replica shares one budget and one time line.

  A grant needs, in this order:
    1. no pause in force. A daily stop (recorded by 2.) is decided again on every call instead: it ends as soon
       as the daily budget has room again (a raised limit, an operator's resume), else at the reset. A pause
       marked `pauseProbe` (a DAILY 429's, pause.lua) does not lift for everyone at once when it ends: each grant
       is then a probe, holding the others back for PROBE_HOLD_MS, until HubSpot accepts a call (report.lua
       lifts it): HubSpot's day may roll over a little after ours;
    2. daily budget left: our own count since the reset (or since an operator's resume) against dailyLimit -
       dailyReserve, and HubSpot's last reported Daily-Remaining (minus the reserve and our grants since) when
       observed today. When none is left the stop is recorded as a pause (reason 'daily', until the reset), so
       status, gauges and alerts see it. Not when it is HubSpot's figure that leaves nothing and it was observed
       within the grace after the reset: HubSpot may have computed it before its own day rolled over (its clock a
       little behind ours), so the account only probes, one call at a time as in 1., until HubSpot's answers show
       the new day (report.lua); a day-long stop on a stale figure would be a day lost;
    3. fewer than effectiveMax grants in the guarded window (now - windowMs - margin, now]. A call arrives at
       HubSpot within `margin` of the others' delays, so this keeps every HubSpot window at or below max;
       and, once HubSpot reported a Secondly limit (older keys' SECONDLY policy), fewer than that many grants in
       a tenth of the window widened by the same margin (the arrival jitter it covers does not shrink);
    4. pacing: at least spacingFactor * interval after the previous grant, and not ahead of the theoretical
       schedule (GCRA) by more than tolerance * interval, where interval = guarded window / effectiveMax.
       Grants come evenly spaced; after a caller that woke late, the next grants come spacingFactor * interval
       apart until up to tolerance intervals are made up, so a late wake does not cost the slot (3. still caps).

  Limits compare as rates: the window is HubSpot's reported interval once there is one (else the budget's), and
  the cap over it the tighter of the budget's rate over that window and HubSpot's reported Max, less outside
  usage (effectiveMax).

  KEYS[1] grant log: zset of grant id scored by grant time (ms)
  KEYS[2] state hash of the account

  ARGV[1]  grant id
  ARGV[2]  maxRequests of the budget
  ARGV[3]  windowMs of the budget (its rate is compared with HubSpot's over HubSpot's window once reported)
  ARGV[4]  margin in ms, or '' for 1% of the window + 10 ms
  ARGV[5]  daily limit, or '' for none
  ARGV[6]  daily reserve
  ARGV[7]  daily reset anchor (ms); resets repeat every 24 h from it, 0 is midnight UTC
  ARGV[8]  spacing factor: share of the interval two grants must at least be apart
  ARGV[9]  lag (ms): how late after its slot a grant may come and still take it (at most one interval)
  ARGV[10] how long the log keeps grants beyond the guarded window (ms), for observe
  ARGV[11] now in ms to use instead of the server clock (simulations and tests), or ''
  ARGV[12] '1' to only look: answer as if acquiring, but record no grant
  ARGV[13] catch-up (ms): how old a missed slot may be and still be taken, the window check permitting
  ARGV[14] reserve (ms): a slot opening within this long is granted now, for its time (0: only now)
  ARGV[15] grace after the daily reset (ms) in which HubSpot's Daily-Remaining leaving nothing only probes

  Run twice: idempotent by grant id: a grant already in the log is answered again, and nothing more is taken. A
  daily stop found twice is recorded twice, the same.

  Returns: {1, grant time ms, now ms} when granted (or grantable, when only looking; the grant time lies ahead
  for a reserved slot), else {0, wait ms, reason} with reason 'paused', 'daily' or 'window'.
]]
local rcall = redis.call
local DAY = 86400000
-- How long a probe after a daily pause holds the other calls back when its answer is not seen (a transport
-- error, a schema read): then the next grant probes again.
local PROBE_HOLD_MS = 5000
local PAUSE_FIELDS = {'pausedUntil', 'pauseReason', 'pausePolicy', 'pauseDetail', 'pausedAt', 'pauseProbe', 'probeAt',
  'dailyStop'}
local logKey, stateKey = KEYS[1], KEYS[2]

local now
if ARGV[11] ~= '' then
  now = math.floor(tonumber(ARGV[11]))
else
  local t = rcall('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A re-sent acquire whose first run granted: the same answer again.
if ARGV[12] ~= '1' then
  local granted = rcall('ZSCORE', logKey, ARGV[1])
  if granted then return {1, tonumber(granted), now} end
end

local s = rcall('HMGET', stateKey, 'pausedUntil', 'pauseReason', 'reportedMax', 'reportedInterval', 'outside',
  'outsideAt', 'tat', 'dayCount', 'dayResetAt', 'dailyBase', 'dailyBaseCount', 'dailyBaseAt', 'reportedSecondly',
  'dailyStop', 'pauseProbe', 'pausedAt', 'dayResumeCount')

-- 1. pause
local pausedUntil = tonumber(s[1])
local dailyStop = s[14] == '1'
local probing = false
if pausedUntil then
  if now < pausedUntil and not dailyStop then
    local reason = 'paused'
    if s[2] == 'daily' then reason = 'daily' end
    return {0, pausedUntil - now, reason}
  end
  if now >= pausedUntil then
    if s[15] == '1' then probing = true else rcall('HDEL', stateKey, unpack(PAUSE_FIELDS)) end
  end
end

-- Limits compare as rates. Over HubSpot's window once it reported one, the budget's rate gives
-- max * interval / window calls; taking the larger window with the smaller max would cut a budget of 10 per 1 s
-- to 10 per 10 s against HubSpot's 10-s window.
local maxRequests = tonumber(ARGV[2])
local budgetWindow = tonumber(ARGV[3])
local windowMs = budgetWindow
local cap = maxRequests
local reportedInterval = tonumber(s[4])
if reportedInterval and reportedInterval > 0 then
  windowMs = reportedInterval
  cap = math.max(1, math.floor(maxRequests * reportedInterval / budgetWindow + 1e-9))
end
local margin = tonumber(ARGV[4]) or (math.floor(windowMs * 0.01) + 10)
local guard = math.ceil(windowMs + margin)

local reportedMax = tonumber(s[3])
if reportedMax and reportedMax > 0 and reportedMax < cap then cap = reportedMax end
local outside = 0
local o, oAt = tonumber(s[5]), tonumber(s[6])
if o and oAt and o > 0 then outside = o * 0.5 ^ (math.max(0, now - oAt - windowMs) / windowMs) end
-- Outside usage of a call or more is left whole: rounding 5.6 down to 5 would overrun the window every time.
-- An even outside rate of n per window can put n + 1 calls in one rolling window, so one more is kept back.
local deduct = 0
if outside >= 1 then deduct = math.ceil(outside - 0.05) + 1 end
local effMax = math.max(1, cap - deduct)

-- 2. daily budget
local anchor = tonumber(ARGV[7]) or 0
local nextReset = anchor + (math.floor((now - anchor) / DAY) + 1) * DAY
local dayResetAt = tonumber(s[9])
local dayCount = tonumber(s[8]) or 0
local resumeCount = tonumber(s[17]) or 0
if not dayResetAt or now >= dayResetAt then
  dayCount = 0
  resumeCount = 0
  rcall('HSET', stateKey, 'dayCount', 0, 'dayResetAt', nextReset)
  rcall('HDEL', stateKey, 'dayResumeCount')
  if rcall('PTTL', stateKey) < 2 * DAY then rcall('PEXPIRE', stateKey, 2 * DAY) end
elseif dayResetAt ~= nextReset then
  rcall('HSET', stateKey, 'dayResetAt', nextReset)
end
dayResetAt = nextReset
local reserve = tonumber(ARGV[6]) or 0
local dailyLeft = nil
local why = ''
if ARGV[5] ~= '' then
  dailyLeft = tonumber(ARGV[5]) - reserve - (dayCount - resumeCount)
  why = 'the daily budget is used up (dailyLimit ' .. ARGV[5] .. ', reserve ' .. reserve .. ')'
end
local base, baseAt = tonumber(s[10]), tonumber(s[12])
local staleProbe = false
if base and baseAt and baseAt >= dayResetAt - DAY then
  local left = base - reserve - (dayCount - (tonumber(s[11]) or 0))
  if left <= 0 and (not dailyLeft or dailyLeft > 0) and baseAt - (dayResetAt - DAY) < (tonumber(ARGV[15]) or 0) then
    -- HubSpot's figure, observed just after the reset, may be its previous day's: probe instead of stopping.
    staleProbe = true
  elseif not dailyLeft or left < dailyLeft then
    dailyLeft = left
    why = "HubSpot's daily limit is used up (Daily-Remaining " .. base .. ' when last reported, reserve ' .. reserve
      .. ')'
  end
end
if dailyLeft and dailyLeft <= 0 then
  -- Recorded as a pause; the first time it was found is kept for status. It ends at the reset (1.), and should
  -- HubSpot's day roll over a little after ours, its DAILY 429 pauses only briefly (pause.lua).
  rcall('HSET', stateKey, 'pausedUntil', dayResetAt, 'pauseReason', 'daily', 'dailyStop', 1,
    'pauseDetail', why .. '; paused until the daily reset')
  if not (dailyStop and s[16]) then rcall('HSET', stateKey, 'pausedAt', now) end
  rcall('HDEL', stateKey, 'pausePolicy', 'pauseProbe', 'probeAt')
  return {0, dayResetAt - now, 'daily'}
elseif dailyStop and pausedUntil and now < pausedUntil then
  -- The budget has room again before the reset (raised, or resumed by an operator): the stop is over.
  rcall('HDEL', stateKey, unpack(PAUSE_FIELDS))
  probing = false
end
if staleProbe then probing = true end

-- 3. rolling window
local retention = tonumber(ARGV[10])
rcall('ZREMRANGEBYSCORE', logKey, '-inf', '(' .. (now - guard - retention))
-- ms until the log holds fewer than `limit` grants in (now - span, now], or nil when it already does: the slot
-- opens when the grant that makes the window full leaves it.
local function fullFor(span, limit)
  local from = '(' .. (now - span)
  local count = rcall('ZCOUNT', logKey, from, '+inf')
  if count < limit then return nil end
  local entry = rcall('ZRANGEBYSCORE', logKey, from, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
  return math.max(1, tonumber(entry[2]) + span - now)
end
-- Every check below only frees up as time passes, so the wait until a grant is the longest of their waits.
local wait = fullFor(guard, effMax) or 0
local secondly = tonumber(s[13])
if secondly and secondly > 0 then
  wait = math.max(wait, fullFor(math.ceil(windowMs / 10 + margin), math.max(1, secondly - math.ceil(deduct / 10))) or 0)
end

-- 4. schedule: slots `interval` apart, anchored. A grant may come after its slot by up to `lag` and still take
-- it (the schedule does not move), so a caller that woke late costs nothing. The interval spreads the guarded
-- window plus that lag over effMax, so grants that keep to the schedule never meet the window check (3.): max + 1
-- of them span at least the guard even when the first came `lag` late, and the window check only binds after a
-- stall, without replaying lateness into later windows. The lag is at most one interval (a gap between two
-- grants stays under two intervals) and a small part of the window, which it costs in throughput.
local lag = math.min(tonumber(ARGV[9]), windowMs / 500, guard / effMax)
local interval = (guard + lag) / effMax
if secondly and secondly > 0 then
  local tenth = (math.ceil(windowMs / 10 + margin) + lag) / math.max(1, secondly - math.ceil(deduct / 10))
  if tenth > interval then interval = tenth end
end
local tat = tonumber(s[7]) or 0
if now < tat then wait = math.max(wait, math.ceil(tat - now)) end
local spacing = tonumber(ARGV[8]) * interval
if spacing > 0 then
  local last = rcall('ZREVRANGE', logKey, 0, 0, 'WITHSCORES')
  if last[2] and tonumber(last[2]) + spacing > now then
    wait = math.max(wait, math.ceil(tonumber(last[2]) + spacing - now))
  end
end
-- A caller may reserve a slot that opens within `reserve` ms: it gets the grant now, for that time, and sends
-- then without asking again, so Redis being busy at the slot's time cannot make the call late.
local at = now
if wait > 0 then
  if ARGV[12] == '1' or wait > (tonumber(ARGV[14]) or 0) then return {0, math.max(1, wait), 'window'} end
  at = now + wait
end
-- A caller later than `lag` (a stall) still takes a missed slot while it is at most `catchUp` old; the window
-- check keeps such catching up safe. Missed slots older than that are forfeited: the schedule starts again from
-- now (so a first grant, or one after idling, is not followed by a burst).
local catchUp = math.max(lag, tonumber(ARGV[13]) or 0)
local nextTat = tat + interval
if at - tat > catchUp then nextTat = at - lag + interval end

if ARGV[12] == '1' then return {1, now, now} end
rcall('ZADD', logKey, at, ARGV[1])
rcall('HINCRBY', stateKey, 'dayCount', 1)
rcall('HSET', stateKey, 'tat', string.format('%.3f', nextTat),
  'interval', string.format('%.3f', interval), 'windowMs', windowMs, 'guardMs', guard,
  'budgetMax', maxRequests, 'budgetWindowMs', budgetWindow, 'effectiveMax', effMax)
if probing then
  rcall('HSET', stateKey, 'pausedUntil', now + PROBE_HOLD_MS, 'pauseReason', 'daily', 'pausedAt', now, 'probeAt', now,
    'pauseProbe', 1, 'pauseDetail', 'probing whether the daily limit has reset: one call at a time until HubSpot accepts one')
end
rcall('PEXPIRE', logKey, guard + retention)
if rcall('PTTL', stateKey) < 2 * DAY then rcall('PEXPIRE', stateKey, 2 * DAY) end
return {1, at, now}

--[[
  Pauses an account for every replica. A pause never shortens one already in force: the later end wins, with
  its reason, so a short 429 pause cannot lift a credentials or daily pause. Only a probe's hold (acquire.lua) gives
  way to any pause: it merely stands for an answer not yet seen.

  Daily mode (ARGV[7] given): a DAILY 429. The end is computed here, on Redis's clock, from the account's reset
  anchor: the next reset, unless the 429 came within the grace after the reset we expected, when HubSpot's clock
  is just behind ours (a day has not rolled over there yet): then only `probe delay` ms. Either way the pause ends
  in a probe (acquire.lua: one call at a time until HubSpot accepts one), so a near-midnight 429 costs a second,
  not a day.

  KEYS[1] state hash of the account

  ARGV[1] duration in ms, or '' when ARGV[2] or ARGV[7] is given
  ARGV[2] end time in ms (epoch, Redis's clock), or ''
  ARGV[3] reason: 'rate_limit', 'daily', 'auth' or 'manual'
  ARGV[4] HubSpot policy name, or ''
  ARGV[5] detail for the status CLI, or ''
  ARGV[6] now in ms to use instead of the server clock (simulations and tests), or ''
  ARGV[7] daily mode: the account's daily reset anchor (ms; resets repeat every 24 h from it), or ''
  ARGV[8] daily mode: grace after the expected reset (ms)
  ARGV[9] daily mode: pause within that grace (ms)

  Run twice: the same pause is in force (a daily one near the reset ends a few ms later, the later end winning).

  Returns: {end time of the pause in force (0 when none), its reason ('' when none), now}.
]]
local rcall = redis.call
local DAY = 86400000

local now
if ARGV[6] ~= '' then
  now = math.floor(tonumber(ARGV[6]))
else
  local t = rcall('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local untilMs = tonumber(ARGV[2])
local detail = ARGV[5]
local probe = false
local anchor = tonumber(ARGV[7])
if anchor then
  probe = true
  local nextReset = anchor + (math.floor((now - anchor) / DAY) + 1) * DAY
  if now - (nextReset - DAY) < tonumber(ARGV[8]) then
    untilMs = now + tonumber(ARGV[9])
    detail = detail .. '; just after the expected daily reset: probing again shortly'
  else
    untilMs = nextReset
    detail = detail .. '; paused until the daily reset'
  end
end
if not untilMs then untilMs = now + tonumber(ARGV[1]) end
untilMs = math.ceil(untilMs)

local s = rcall('HMGET', KEYS[1], 'pausedUntil', 'pauseReason', 'probeAt')
local current = tonumber(s[1])
if current and current > now and current >= untilMs and not s[3] then return {current, s[2] or '', now} end
if untilMs <= now then return {0, '', now} end

rcall('HSET', KEYS[1], 'pausedUntil', untilMs, 'pauseReason', ARGV[3], 'pausedAt', now)
rcall('HDEL', KEYS[1], 'dailyStop', 'probeAt')
if probe then rcall('HSET', KEYS[1], 'pauseProbe', 1) else rcall('HDEL', KEYS[1], 'pauseProbe') end
if ARGV[4] ~= '' then rcall('HSET', KEYS[1], 'pausePolicy', ARGV[4]) else rcall('HDEL', KEYS[1], 'pausePolicy') end
if detail ~= '' then rcall('HSET', KEYS[1], 'pauseDetail', detail) else rcall('HDEL', KEYS[1], 'pauseDetail') end
local keep = untilMs - now + 2 * DAY
if rcall('PTTL', KEYS[1]) < keep then rcall('PEXPIRE', KEYS[1], keep) end
return {untilMs, ARGV[3], now}

--[[
  Pauses an account for every replica. A pause never shortens one already in force: the later end wins, with
  its reason, so a short 429 pause cannot lift a credentials or daily pause.

  KEYS[1] state hash of the account

  ARGV[1] duration in ms, or '' when ARGV[2] is given
  ARGV[2] end time in ms (epoch, Redis's clock), or ''
  ARGV[3] reason: 'rate_limit', 'daily', 'auth' or 'manual'
  ARGV[4] HubSpot policy name, or ''
  ARGV[5] detail for the status CLI, or ''
  ARGV[6] now in ms to use instead of the server clock (simulations and tests), or ''

  Run twice: the same pause is in force.

  Returns: {end time of the pause in force (0 when none), its reason ('' when none)}.
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
if not untilMs then untilMs = now + tonumber(ARGV[1]) end
untilMs = math.ceil(untilMs)

local s = rcall('HMGET', KEYS[1], 'pausedUntil', 'pauseReason')
local current = tonumber(s[1])
if current and current > now and current >= untilMs then return {current, s[2] or ''} end
if untilMs <= now then return {0, ''} end

rcall('HSET', KEYS[1], 'pausedUntil', untilMs, 'pauseReason', ARGV[3], 'pausedAt', now)
if ARGV[4] ~= '' then rcall('HSET', KEYS[1], 'pausePolicy', ARGV[4]) else rcall('HDEL', KEYS[1], 'pausePolicy') end
if ARGV[5] ~= '' then rcall('HSET', KEYS[1], 'pauseDetail', ARGV[5]) else rcall('HDEL', KEYS[1], 'pauseDetail') end
local keep = untilMs - now + 2 * DAY
if rcall('PTTL', KEYS[1]) < keep then rcall('PEXPIRE', KEYS[1], keep) end
return {untilMs, ARGV[3]}

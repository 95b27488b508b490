--[[
  Reads an account's limiter state in one round trip, on Redis's clock.

  KEYS[1] grant log: zset of grant id scored by grant time (ms)
  KEYS[2] state hash of the account

  ARGV[1] now in ms to use instead of the server clock (simulations and tests), or ''

  Run twice: reads only.

  Returns: {now ms, our grants in the guarded window last used by acquire (0 before any), field, value, ...}.
]]
local rcall = redis.call

local now
if ARGV[1] ~= '' then
  now = math.floor(tonumber(ARGV[1]))
else
  local t = rcall('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local fields = rcall('HGETALL', KEYS[2])
local guard = tonumber(rcall('HGET', KEYS[2], 'guardMs'))
local count = 0
if guard then count = rcall('ZCOUNT', KEYS[1], '(' .. (now - guard), '+inf') end
local out = {now, count}
for i = 1, #fields do out[#out + 1] = fields[i] end
return out

--[[
  Confirms, right before a HubSpot call, that the batch is still this worker's, records that a call is going out
  (so a lost lease is known to have maybe applied, see tick.lua) and renews the lease.

  KEYS[1] batch hash
  KEYS[2] leases zset

  ARGV[1] batch id
  ARGV[2] lease ms

  Run twice: counting the call twice only says again that a call went out; the lease is renewed once more.

  Returns: 1 when the batch is still ours, 0 when its lease was lost (the call must not be made).
]]
local rcall = redis.call
if rcall('EXISTS', KEYS[1]) == 0 then return 0 end
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
rcall('HINCRBY', KEYS[1], '#calls', 1)
rcall('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), ARGV[1])
return 1

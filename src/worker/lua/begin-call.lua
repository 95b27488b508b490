--[[
  Confirms, right before a HubSpot call, that the batch is still this worker's, records that a call is going out
  and until when it may run (so a lost lease is known to have maybe applied, and for how long, see tick.lua), and
  renews the lease.

  KEYS[1] batch hash
  KEYS[2] leases zset

  ARGV[1] batch id
  ARGV[2] lease ms
  ARGV[3] the call's deadline from now (ms): until then the call may still be in progress at HubSpot

  Run twice: counting the call twice only says again that a call went out; the lease is renewed once more.

  Returns: 1 when the batch is still ours, 0 when its lease was lost (the call must not be made).
]]
local rcall = redis.call
if rcall('EXISTS', KEYS[1]) == 0 then return 0 end
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
rcall('HINCRBY', KEYS[1], '#calls', 1)
-- When the batch is taken back, its objects are held from the end of its latest call, not from the takeover.
local callEnds = now + tonumber(ARGV[3])
if callEnds > (tonumber(rcall('HGET', KEYS[1], '#callEnds')) or 0) then rcall('HSET', KEYS[1], '#callEnds', callEnds) end
rcall('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), ARGV[1])
return 1

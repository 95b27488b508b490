--[[
  Extends the leases of a worker's in-flight batches (its heartbeat).

  KEYS[1] leases zset

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] lease ms
  ARGV[4..] batch ids

  Run twice: the lease is renewed once more.

  Returns: the batch ids whose lease was already lost (expired and taken back), which the worker must abandon.
]]
local rcall = redis.call
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local deadline = now + tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV do
  if rcall('EXISTS', K.batch(ARGV[i])) == 1 then
    rcall('ZADD', KEYS[1], 'XX', deadline, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost

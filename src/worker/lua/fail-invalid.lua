--[[
  Fails jobs whose data could not be routed to an object, with the outcomes the worker built for them: records
  each outcome, drops the job, and files it in the dead-letter index, counting only the jobs this run took off
  the invalid list.

  KEYS[1] invalid list
  KEYS[2] stats hash
  KEYS[3] failed zset (dead-letter index)

  ARGV[1] job key prefix
  ARGV[2] outcome key prefix
  ARGV[3] outcome TTL seconds
  ARGV[4] settled pub/sub channel
  ARGV[5..] quadruples: job id, trace id, outcome JSON, dead-letter index member

  Run twice: a job the first run took off the invalid list is skipped, so nothing is written or counted again.

  Returns: the number of jobs failed by this run.
]]
local rcall = redis.call
local jobPrefix, outcomePrefix, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local failed = 0
for i = 5, #ARGV, 4 do
  local jobId, trace, outcome, member = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if rcall('LREM', KEYS[1], 1, jobId) == 1 then
    rcall('SET', outcomePrefix .. trace, outcome, 'EX', ttl)
    rcall('DEL', jobPrefix .. jobId)
    rcall('ZADD', KEYS[3], now, member)
    failed = failed + 1
  end
end
if failed > 0 then
  rcall('HINCRBY', KEYS[2], 'failed', failed)
  rcall('HINCRBY', KEYS[2], 'failed:VALIDATION_ERROR', failed)
  rcall('PUBLISH', ARGV[4], 'invalid')
end
return failed

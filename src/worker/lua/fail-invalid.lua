--[[
  Fails jobs whose data could not be routed to an object, with the errors the worker found in them: records each
  outcome (finish.lua), drops the job, and files it in the dead-letter index, counting only the jobs this run took
  off the invalid list.

  KEYS[1] invalid list
  KEYS[2] stats hash
  KEYS[3] failed zset (dead-letter index)

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] outcome TTL seconds
  ARGV[4..] pairs: job id, the outcome's facts as JSON (see finish.lua; the times are set here)

  Run twice: a job the first run took off the invalid list is skipped, so nothing is written or counted again.

  Returns: the number of jobs failed by this run.
]]
local rcall = redis.call
local ttl = tonumber(ARGV[3])
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local failed = 0
for i = 4, #ARGV, 2 do
  local jobId = ARGV[i]
  if rcall('LREM', KEYS[1], 1, jobId) == 1 then
    local f = cjson.decode(ARGV[i + 1])
    f.status, f.finishedAt = 'failed', now
    f.enqueuedAt = tonumber(rcall('HGET', K.job(jobId), 'timestamp')) or now
    -- Data that cannot be routed cannot be replayed either: the job goes.
    Outcome.finish(jobId, f, 0, false, ttl)
    failed = failed + 1
  end
end
Outcome.flush(KEYS[2])
return failed

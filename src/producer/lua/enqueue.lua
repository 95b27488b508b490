--[[
  Enqueues updates as BullMQ-compatible jobs, idempotently, in one call.

  A job is skipped (and reported as a duplicate) when its job hash still exists (the update is queued or in
  flight) or when its trace id already has an outcome record (the update was retried or finished). Only the
  fields BullMQ needs to read a job are written, and no event-stream entries, to keep memory per update small.

  KEYS[1] wait list
  KEYS[2] marker zset (wakes blocked consumers)

  ARGV[1] job key prefix (`<bullPrefix>:<queue>:`)
  ARGV[2] outcome key prefix
  ARGV[3..] triples: job id, trace id, job data (JSON)

  Returns: array with one integer per triple, 1 = added, 0 = duplicate.
]]
local rcall = redis.call
local jobPrefix = ARGV[1]
local outcomePrefix = ARGV[2]
local t = rcall('TIME')
local now = tostring(t[1] * 1000 + math.floor(t[2] / 1000))

local added = {}
local pushed = 0
for i = 3, #ARGV, 3 do
  local jobId, traceId, data = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local jobKey = jobPrefix .. jobId
  if rcall('EXISTS', jobKey) == 1 or rcall('EXISTS', outcomePrefix .. traceId) == 1 then
    added[#added + 1] = 0
  else
    rcall('HSET', jobKey, 'name', 'update', 'data', data, 'timestamp', now)
    rcall('LPUSH', KEYS[1], jobId)
    added[#added + 1] = 1
    pushed = pushed + 1
  end
end
if pushed > 0 then
  rcall('ZADD', KEYS[2], 0, '0')
end
return added

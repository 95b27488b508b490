--[[
  Looks up outcomes by trace id in one call. An update without an outcome record is still queued when its job
  hash exists (derived instead of written at enqueue, which keeps enqueue cheap).

  KEYS[1] stats hash (not read: it routes the call to the queue's node in a Redis Cluster; every key built
          below shares the queue's hash tag)

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3..] trace ids

  Run twice: reads only.

  Returns: per id three values: kind ('o' outcome JSON, 'q' queued job data, '' unknown), payload, enqueue time.
]]
local rcall = redis.call
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local record = rcall('GET', K.outcome(id))
  if record then
    out[#out + 1] = 'o'
    out[#out + 1] = record
    out[#out + 1] = ''
  else
    local job = rcall('HMGET', K.job(K.jobIdFor(id)), 'data', 'timestamp')
    if job[1] then
      out[#out + 1] = 'q'
      out[#out + 1] = job[1]
      out[#out + 1] = job[2] or ''
    else
      out[#out + 1] = ''
      out[#out + 1] = ''
      out[#out + 1] = ''
    end
  end
end
return out

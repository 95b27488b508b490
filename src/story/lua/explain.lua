--[[
  Reads what `explain` tells of one update, in one call: its outcome record, its job (while it is kept) and the
  stories of the batches it was in (named by `hist` in either).

  KEYS[1] stats hash (not read: it routes the call to the queue's node in a Redis Cluster; every key built
          below shares the queue's hash tag)

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] trace id
  ARGV[4] most batch stories to read

  Run twice: reads only.

  Returns: { outcome record or '', job data or '', job timestamp or '', job ingestedAt or '', job hist or '',
             { batch id, story JSON or '', ... } }
]]
local rcall = redis.call
local trace = ARGV[3]
local maxStories = tonumber(ARGV[4])
local record = rcall('GET', K.outcome(trace)) or ''
local job = rcall('HMGET', K.job(K.jobIdFor(trace)), 'data', 'timestamp', 'ingestedAt', 'hist')

local ids, seen = {}, {}
local function collect(hist)
  for id in string.gmatch(hist or '', '[^,]+') do
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
end
local read = K.readRecord(record ~= '' and record or nil)
collect(read and read.hist)
collect(job[4])

local stories = {}
for i = math.max(1, #ids - maxStories + 1), #ids do
  stories[#stories + 1] = ids[i]
  stories[#stories + 1] = rcall('GET', K.story(ids[i])) or ''
end
return { record, job[1] or '', job[2] or '', job[3] or '', job[4] or '', stories }

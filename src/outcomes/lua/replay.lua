--[[
  Replays failed updates: their outcome record is dropped and their job, kept since it failed with its original
  sequence number, goes back on the wait list. Ingestion reuses that sequence, so a newer value that landed in
  the meantime still wins (the replay is fenced like any other write).

  KEYS[1] wait list
  KEYS[2] marker zset
  KEYS[3] failed zset
  KEYS[4] stats hash

  ARGV[1] job key prefix
  ARGV[2] outcome key prefix
  ARGV[3..] failed-index members (`jobId|traceId`)

  Returns: the number of updates put back.
]]
local rcall = redis.call
local replayed = 0
for i = 3, #ARGV do
  local member = ARGV[i]
  local jobId, traceId = string.match(member, '^(.*)|([^|]*)$')
  if jobId and rcall('HEXISTS', ARGV[1] .. jobId, 'data') == 1 then
    local record = rcall('GET', ARGV[2] .. traceId)
    if record then
      local ok, o = pcall(cjson.decode, record)
      if ok and type(o) == 'table' and type(o.error) == 'table' and type(o.error.category) == 'string' then
        rcall('HINCRBY', KEYS[4], 'failed:' .. o.error.category, -1)
      end
    end
    rcall('DEL', ARGV[2] .. traceId)
    rcall('PERSIST', ARGV[1] .. jobId)
    rcall('ZREM', KEYS[3], member)
    rcall('HINCRBY', KEYS[4], 'failed', -1)
    rcall('LPUSH', KEYS[1], jobId)
    replayed = replayed + 1
  end
end
if replayed > 0 then rcall('ZADD', KEYS[2], 0, '0') end
return replayed

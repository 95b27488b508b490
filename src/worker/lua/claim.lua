--[[
  Claims up to N objects of one group for one batch, under a lease.

  Claimed objects leave the pending zset and are marked in flight (at most one in-flight batch per object across
  replicas); their pending updates move into the batch record, so a worker that dies mid-batch loses nothing:
  when the lease expires, `tick.lua` hands the updates back. A partial batch is only claimed once its oldest update
  has lingered long enough, unless the caller forces it.

  KEYS[1] pending zset of the group
  KEYS[2] inflight hash
  KEYS[3] leases zset
  KEYS[4] batch hash (new)
  KEYS[5] stats hash

  ARGV[1] key root
  ARGV[2] job key prefix
  ARGV[3] batch id
  ARGV[4] lease ms
  ARGV[5] max objects
  ARGV[6] min objects for a batch before its linger time is up
  ARGV[7] linger ms
  ARGV[8] max updates taken per object
  ARGV[9] worker id

  Returns: { 'empty' } | { 'linger', ms until the linger time is up } |
           { 'ok', now, { objectKey, { entry, ... }, { data, ... }, { landed prop, seq, ... } }, ... }
]]
local rcall = redis.call
local root, jobPrefix, batchId = ARGV[1], ARGV[2], ARGV[3]
local leaseMs, maxObjects, minObjects = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local lingerMs, maxPerObject = tonumber(ARGV[7]), tonumber(ARGV[8])
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

local count = rcall('ZCARD', KEYS[1])
if count == 0 then return { 'empty' } end
if count < minObjects then
  local oldest = tonumber(rcall('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
  if oldest + lingerMs > now then return { 'linger', oldest + lingerMs - now } end
end

local popped = rcall('ZPOPMIN', KEYS[1], maxObjects)
local objects = {}
local taken = 0
for i = 1, #popped, 2 do
  local objKey = popped[i]
  local listKey = root .. 'obj:' .. objKey
  local entries = rcall('LRANGE', listKey, 0, maxPerObject - 1)
  if #entries > 0 then
    rcall('LTRIM', listKey, #entries, -1)
    local datas = {}
    for j, entry in ipairs(entries) do
      local jobId = string.match(entry, '^%d+:%d+:%d+:(.*)$')
      datas[j] = rcall('HGET', jobPrefix .. jobId, 'data') or ''
    end
    rcall('HSET', KEYS[2], objKey, batchId)
    rcall('HSET', KEYS[4], objKey, table.concat(entries, '\n'))
    objects[#objects + 1] = { objKey, entries, datas, rcall('HGETALL', root .. 'landed:' .. objKey) }
    taken = taken + #entries
  end
end
if #objects == 0 then return { 'empty' } end
rcall('HSET', KEYS[4], '#worker', ARGV[9], '#at', now)
rcall('ZADD', KEYS[3], now + leaseMs, batchId)
rcall('HINCRBY', KEYS[5], 'pending', -taken)
rcall('HINCRBY', KEYS[5], 'inflight', taken)
return { 'ok', now, objects }

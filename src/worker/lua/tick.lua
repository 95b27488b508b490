--[[
  Housekeeping any replica may run: promotes retries whose backoff is over and takes back the updates of batches
  whose lease expired (their worker died or stalled). Taken-back updates return to their objects' pending lists
  with one more attempt counted, since their call may have reached HubSpot.

  KEYS[1] delayed zset
  KEYS[2] leases zset
  KEYS[3] inflight hash
  KEYS[4] groups set
  KEYS[5] stats hash

  ARGV[1] key root
  ARGV[2] max items of each kind per call

  Returns: { promoted, reclaimed batches, ms until the next retry is due or -1 }
]]
local rcall = redis.call
local root = ARGV[1]
local limit = tonumber(ARGV[2])
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

local function makePending(objKey)
  local listKey = root .. 'obj:' .. objKey
  if rcall('HEXISTS', KEYS[3], objKey) == 1 then return end
  local first = rcall('LINDEX', listKey, 0)
  if not first then return end
  local group = string.match(objKey, '^([^|]*|[^|]*)|')
  rcall('ZADD', root .. 'pending:' .. group, 'NX', string.match(first, '^%d+:(%d+):'), objKey)
  rcall('SADD', KEYS[4], group)
end

-- Keep the list in sequence order: a retried entry is older than most of what arrived during its backoff.
local function insertInOrder(listKey, entry)
  local seq = tonumber(string.match(entry, '^(%d+):'))
  local items = rcall('LRANGE', listKey, 0, -1)
  for _, item in ipairs(items) do
    if tonumber(string.match(item, '^(%d+):')) > seq then
      rcall('LINSERT', listKey, 'BEFORE', item, entry)
      return
    end
  end
  rcall('RPUSH', listKey, entry)
end

local promoted = 0
local due = rcall('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(due) do
  local objKey, entry = string.match(member, '^(.*)\n(.*)$')
  rcall('ZREM', KEYS[1], member)
  insertInOrder(root .. 'obj:' .. objKey, entry)
  makePending(objKey)
  promoted = promoted + 1
end
if promoted > 0 then
  rcall('HINCRBY', KEYS[5], 'delayed', -promoted)
  rcall('HINCRBY', KEYS[5], 'pending', promoted)
end

local reclaimed, returned = 0, 0
local expired = rcall('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
for _, batchId in ipairs(expired) do
  local batchKey = root .. 'batch:' .. batchId
  local fields = rcall('HGETALL', batchKey)
  for i = 1, #fields, 2 do
    local objKey = fields[i]
    if string.sub(objKey, 1, 1) ~= '#' then
      local listKey = root .. 'obj:' .. objKey
      for entry in string.gmatch(fields[i + 1], '[^\n]+') do
        local seq, ts, attempts, jobId = string.match(entry, '^(%d+):(%d+):(%d+):(.*)$')
        insertInOrder(listKey, seq .. ':' .. ts .. ':' .. (tonumber(attempts) + 1) .. ':' .. jobId)
        returned = returned + 1
      end
      if rcall('HGET', KEYS[3], objKey) == batchId then rcall('HDEL', KEYS[3], objKey) end
      makePending(objKey)
    end
  end
  rcall('DEL', batchKey)
  rcall('ZREM', KEYS[2], batchId)
  reclaimed = reclaimed + 1
end
if returned > 0 then
  rcall('HINCRBY', KEYS[5], 'inflight', -returned)
  rcall('HINCRBY', KEYS[5], 'pending', returned)
end

local nextDue = -1
local head = rcall('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if head[2] then nextDue = math.max(0, tonumber(head[2]) - now) end
return { promoted, reclaimed, nextDue }

--[[
  Housekeeping any replica may run:
    - promotes retries whose backoff is over;
    - ends holds that are over, making their objects claimable again;
    - takes back the updates of batches whose lease expired (their worker died or stalled). When the batch had
      started a call, the call may still apply: its updates come back with one more attempt counted, and their
      objects are held (only those updates may be sent) until the hold time after the call's own deadline. A
      batch that never called HubSpot costs no attempt and no hold. Updates of a batch that called keep it in their
      history (`hist`, for `explain`: the lost worker's settle may still record its calls);
    - sweeps a slice of the in-flight marks and repairs those whose batch no longer exists;
    - trims the outcome stream to its retention (consumers that fell further behind lose what was trimmed).

  Run twice: every step acts only on what is due or broken at the time it runs, so a second run finds nothing left
  to do; only its counts differ.

  KEYS[1] delayed zset
  KEYS[2] leases zset
  KEYS[3] inflight hash
  KEYS[4] groups set
  KEYS[5] stats hash
  KEYS[6] holds hash
  KEYS[7] held zset
  KEYS[8] sweep cursor

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] max items of each kind per call
  ARGV[4] hold after a lost lease whose call may have gone out (ms)
  ARGV[5] in-flight marks to check in this run (0: no sweep)
  ARGV[6] how long the outcome stream keeps entries (ms): older ones are trimmed

  Returns: { promoted, reclaimed batches, ms until the next retry or hold end is due or -1, repaired marks }
]]
local rcall = redis.call
local limit = tonumber(ARGV[3])
local holdMs = tonumber(ARGV[4])
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

-- Claimable again, in both lanes (lanes.lua), unless in flight or nothing of it waits.
local function makePending(objKey)
  if rcall('HEXISTS', KEYS[3], objKey) == 1 then return end
  local group = K.groupOfObject(objKey)
  if Lanes.claimable(group, objKey) then rcall('SADD', KEYS[4], group) end
end


local promoted = 0
local due = rcall('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(due) do
  local objKey, entry = K.parseDelayedMember(member)
  rcall('ZREM', KEYS[1], member)
  Entries.insert(K.objectUpdates(objKey), entry)
  rcall('PERSIST', K.landed(objKey))
  makePending(objKey)
  promoted = promoted + 1
end
-- Moves `n` updates from one depth counter to another (Redis refuses '-0', so nothing is sent for none).
local function recount(n, from, to)
  if n > 0 then
    rcall('HINCRBY', KEYS[5], from, -n)
    rcall('HINCRBY', KEYS[5], to, n)
  end
end
recount(promoted, 'delayed', 'pending')

for _, objKey in ipairs(rcall('ZRANGEBYSCORE', KEYS[7], '-inf', now, 'LIMIT', 0, limit)) do
  rcall('ZREM', KEYS[7], objKey)
  local holdUntil = K.parseHold(rcall('HGET', KEYS[6], objKey))
  if holdUntil and holdUntil <= now then rcall('HDEL', KEYS[6], objKey) end
  makePending(objKey)
end

local reclaimed, returned = 0, 0
local expired = rcall('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
for _, batchId in ipairs(expired) do
  local batchKey = K.batch(batchId)
  local fields = rcall('HGETALL', batchKey)
  local called, callEnds = false, now
  for i = 1, #fields, 2 do
    if fields[i] == '#calls' and tonumber(fields[i + 1]) > 0 then called = true end
    if fields[i] == '#callEnds' then callEnds = math.max(now, tonumber(fields[i + 1])) end
  end
  for i = 1, #fields, 2 do
    local objKey = fields[i]
    if string.sub(objKey, 1, 1) ~= '#' then
      local listKey = K.objectUpdates(objKey)
      local jobs = {}
      for entry in K.eachEntry(fields[i + 1]) do
        local seq, ts, attempts, jobId, interactive = K.parseEntry(entry)
        if called then
          attempts = attempts + 1
          local jobKey = K.job(jobId)
          if rcall('EXISTS', jobKey) == 1 then
            rcall('HSET', jobKey, 'hist', K.withBatch(rcall('HGET', jobKey, 'hist'), batchId))
          end
        else
          -- No attempt is charged, but a batch whose worker keeps dying before its call must end some time.
          if rcall('EXISTS', K.job(jobId)) == 1 then rcall('HINCRBY', K.job(jobId), 'reclaims', 1) end
        end
        Entries.insert(listKey, K.entry(seq, ts, attempts, jobId, interactive))
        jobs[#jobs + 1] = jobId
        returned = returned + 1
      end
      if called and holdMs > 0 then
        -- The lost call may still be at HubSpot until its own deadline, and apply late after it.
        local untilMs = callEnds + holdMs
        rcall('HSET', KEYS[6], objKey, K.hold(untilMs, jobs))
        rcall('ZADD', KEYS[7], untilMs, objKey)
      end
      if rcall('HGET', KEYS[3], objKey) == batchId then rcall('HDEL', KEYS[3], objKey) end
      makePending(objKey)
    end
  end
  rcall('DEL', batchKey)
  rcall('ZREM', KEYS[2], batchId)
  reclaimed = reclaimed + 1
end
recount(returned, 'inflight', 'pending')

-- A slice of the in-flight marks per run: a mark whose batch is gone would keep its object from ever being
-- claimed again. Claims and settles write marks and batches together, so a mark without a batch is broken.
local repaired = 0
local sweep = tonumber(ARGV[5]) or 0
if sweep > 0 then
  local scan = rcall('HSCAN', KEYS[3], rcall('GET', KEYS[8]) or '0', 'COUNT', sweep)
  rcall('SET', KEYS[8], scan[1])
  local marks = scan[2]
  for i = 1, #marks, 2 do
    if rcall('EXISTS', K.batch(marks[i + 1])) == 0 then
      rcall('HDEL', KEYS[3], marks[i])
      makePending(marks[i])
      repaired = repaired + 1
    end
  end
end

local retention = tonumber(ARGV[6]) or 0
if retention > 0 then rcall('XTRIM', K.outcomeStream, 'MINID', '~', now - retention) end

local nextDue = -1
for _, key in ipairs({ KEYS[1], KEYS[7] }) do
  local head = rcall('ZRANGE', key, 0, 0, 'WITHSCORES')
  if head[2] then
    local ms = math.max(0, tonumber(head[2]) - now)
    if nextDue < 0 or ms < nextDue then nextDue = ms end
  end
end
return { promoted, reclaimed, nextDue, repaired }

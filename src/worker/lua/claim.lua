--[[
  Claims up to N objects of one group for one batch, under a lease.

  Claimed objects leave the pending zset and are marked in flight (at most one in-flight batch per object across
  replicas); their pending updates move into the batch record, so a worker that dies mid-batch loses nothing:
  when the lease expires, `tick.lua` hands the updates back. A partial batch is only claimed once its oldest update
  has lingered long enough, unless the caller forces it or the group has interactive work.

  Lanes (lanes.lua): objects with interactive updates (the interactive zset) are taken first, by their oldest
  interactive update; the rest of the batch is filled from the pending zset, oldest first. Either way an object
  leaves both zsets and brings its updates of both lanes, in sequence order, so merging and fencing stay per
  object: the lane decides when an object goes out, never which of its values wins.

  An object under a hold (its last call may still apply, see settle.lua) gives only the updates of that call;
  when it has none, it waits in the held zset until the hold ends. A claimed object's fence is made persistent
  while the object is in flight (settle sets its TTL again once nothing of the object is left).

  Run twice: idempotent by batch id. When the batch record already exists (the reply of a first run was lost and the
  client sent the command again), the reply is rebuilt from that record and nothing more is claimed.

  KEYS[1] pending zset of the group
  KEYS[2] inflight hash
  KEYS[3] leases zset
  KEYS[4] batch hash (new)
  KEYS[5] stats hash
  KEYS[6] holds hash
  KEYS[7] held zset
  KEYS[8] interactive zset of the group

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] batch id
  ARGV[4] lease ms
  ARGV[5] max objects
  ARGV[6] min objects for a batch before its linger time is up
  ARGV[7] linger ms
  ARGV[8] max updates taken per object
  ARGV[9] worker id
  ARGV[10] max updates taken in all (objects popped beyond it go back to the pending zset as they were)

  Returns: { 'empty' } | { 'linger', ms until the linger time is up } |
           { 'ok', now, { objectKey, { entry, ... }, { data, ... }, { landed prop, seq, ... },
                          { times taken back before a call, ... }, { flags: 1 our producer checked it, 2 its address
                          was resolved again after HubSpot refuted a mapping, ... }, { producer's traceparent or '',
                          ... }, { ingestedAt or '', ... }, { batches it was in so far (`hist`) or '', ... },
                          { addresses it sets (`sets`, see ingest.lua) or '', ... } }, ... }
]]
local rcall = redis.call
local batchId = ARGV[3]
local leaseMs, maxObjects, minObjects = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local lingerMs, maxPerObject = tonumber(ARGV[7]), tonumber(ARGV[8])
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

-- The object as the reply gives it; `persist`: its fence is made persistent while the object is in flight (a
-- fence with no fields does not exist, so there is nothing to persist).
local function describe(objKey, entries, persist)
  local datas, reclaims, flags, tps, ingested, hist, sets = {}, {}, {}, {}, {}, {}, {}
  for j, entry in ipairs(entries) do
    local job = rcall('HMGET', K.job(K.jobOfEntry(entry)), 'data', 'reclaims', 'name', 'resolves', 'tp', 'ingestedAt',
      'hist', 'sets')
    datas[j] = job[1] or ''
    reclaims[j] = tonumber(job[2]) or 0
    flags[j] = (job[3] == K.CHECKED_JOB_NAME and 1 or 0) + ((tonumber(job[4]) or 0) > 0 and 2 or 0)
    tps[j] = job[5] or ''
    ingested[j] = job[6] or ''
    hist[j] = job[7] or ''
    sets[j] = job[8] or ''
  end
  local landedKey = K.landed(objKey)
  local landed = rcall('HGETALL', landedKey)
  if persist and #landed > 0 then rcall('PERSIST', landedKey) end
  return { objKey, entries, datas, landed, reclaims, flags, tps, ingested, hist, sets }
end

-- A re-sent claim: answer from the record the first run wrote.
local existing = rcall('HGETALL', KEYS[4])
if #existing > 0 then
  local objects, at = {}, now
  for i = 1, #existing, 2 do
    local field = existing[i]
    if field == '#at' then
      at = tonumber(existing[i + 1])
    elseif string.sub(field, 1, 1) ~= '#' then
      local entries = {}
      for entry in K.eachEntry(existing[i + 1]) do entries[#entries + 1] = entry end
      objects[#objects + 1] = describe(field, entries)
    end
  end
  return { 'ok', at, objects }
end

local count = rcall('ZCARD', KEYS[1])
if count == 0 then return { 'empty' } end
-- Interactive work does not linger: it goes out in the next call that can take it, filled with what else waits.
if count < minObjects and rcall('ZCARD', KEYS[8]) == 0 then
  local oldest = tonumber(rcall('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
  if oldest + lingerMs > now then return { 'linger', oldest + lingerMs - now } end
end

-- The entries of a held object that belong to its held call, taken out of its list (the rest keep their order).
local function heldEntries(listKey, jobs, max)
  local taken = {}
  for _, entry in ipairs(rcall('LRANGE', listKey, 0, -1)) do
    if #taken >= max then break end
    if jobs[K.jobOfEntry(entry)] then
      taken[#taken + 1] = entry
      rcall('LREM', listKey, 1, entry)
    end
  end
  return taken
end

local objects = {}
-- The in-flight marks and the batch record's fields, each written with one HSET once every object is claimed.
local marks, record = {}, {}

-- Takes up to `room` updates of one popped object (`hold`: its hold, if any) into the batch; returns how many.
local function claimObject(objKey, room, hold)
  local listKey = K.objectUpdates(objKey)
  local entries
  local holdUntil, jobs = K.parseHold(hold)
  if holdUntil and holdUntil > now then
    entries = heldEntries(listKey, jobs, room)
    if #entries == 0 then rcall('ZADD', KEYS[7], holdUntil, objKey) end
  else
    if hold then
      rcall('HDEL', KEYS[6], objKey)
      rcall('ZREM', KEYS[7], objKey)
    end
    -- LPOP with a count answers nil for an empty list.
    entries = rcall('LPOP', listKey, room) or {}
  end
  if #entries == 0 then return 0 end
  marks[#marks + 1] = objKey
  marks[#marks + 1] = batchId
  record[#record + 1] = objKey
  record[#record + 1] = table.concat(entries, '\n')
  objects[#objects + 1] = describe(objKey, entries, true)
  return #entries
end

-- Popped objects: { objKey, pending score, interactive score or false }, interactive ones first.
local popped = {}
for _, objKey in ipairs(rcall('ZRANGE', KEYS[8], 0, maxObjects - 1)) do
  local score = rcall('ZSCORE', KEYS[1], objKey)
  -- Only a claimable object counts (the interactive zset is kept a subset of the pending one).
  if score then
    local urgent = rcall('ZSCORE', KEYS[8], objKey)
    rcall('ZREM', KEYS[1], objKey)
    popped[#popped + 1] = { objKey, score, urgent }
  end
  rcall('ZREM', KEYS[8], objKey)
end
if #popped < maxObjects then
  local rest = rcall('ZPOPMIN', KEYS[1], maxObjects - #popped)
  local restKeys = {}
  for i = 1, #rest, 2 do
    popped[#popped + 1] = { rest[i], rest[i + 1], false }
    restKeys[#restKeys + 1] = rest[i]
  end
  if #restKeys > 0 then rcall('ZREM', KEYS[8], unpack(restKeys)) end
end
local maxUpdates = tonumber(ARGV[10])
local taken = 0
-- Every popped object's hold, read at once.
local holds = {}
if #popped > 0 then
  local keys = {}
  for i, p in ipairs(popped) do keys[i] = p[1] end
  holds = rcall('HMGET', KEYS[6], unpack(keys))
end
for i, p in ipairs(popped) do
  local room = math.min(maxPerObject, maxUpdates - taken)
  -- The batch is full of updates: the object waits for the next one, as it was.
  if room <= 0 then
    rcall('ZADD', KEYS[1], p[2], p[1])
    if p[3] then rcall('ZADD', KEYS[8], p[3], p[1]) end
  else
    -- HMGET answers a missing field with false.
    taken = taken + claimObject(p[1], room, holds[i] or nil)
  end
end
if #objects == 0 then return { 'empty' } end
rcall('HSET', KEYS[2], unpack(marks))
record[#record + 1] = '#worker'
record[#record + 1] = ARGV[9]
record[#record + 1] = '#at'
record[#record + 1] = now
rcall('HSET', KEYS[4], unpack(record))
rcall('ZADD', KEYS[3], now + leaseMs, batchId)
rcall('HINCRBY', KEYS[5], 'pending', -taken)
rcall('HINCRBY', KEYS[5], 'inflight', taken)
return { 'ok', now, objects }

--[[
  Moves up to N jobs from the wait lists into the per-object pending structure: the interactive wait list first
  (this producer's interactive updates), so they do not wait behind a backlog of BullMQ's wait list, then BullMQ's,
  each in enqueue order. While both hold jobs, the interactive list takes at most half of a call, so a flood of
  interactive updates cannot stop bulk work from being ingested.

  Each routable job becomes an entry `seq:enqueuedAt:attempts:jobId` in its object's list, kept in sequence order
  (entries.lua); `seq` comes from one counter, so it orders updates as Redis saw them enqueued (the fencing
  sequence), whatever their lane: this producer gives it at enqueue (the job's `seq`), and a job without one
  (another client's) takes the next number here. So an interactive update ingested before older bulk updates of
  its object still loses to none of them and wins over none of them wrongly.
  An update with `"priority": "interactive"` gets the lane mark in its entry (see keys.ts). An object that is not
  in flight is made claimable in its group's pending zset, scored by its oldest update's enqueue time, and, for an
  interactive update, in the group's interactive zset too (lanes.lua). Objects are
  records: an update addressed by a unique property's value (`idProperty`) goes to the record the value is known to
  name, or, while none is known, waits in the value's unresolved list until resolve.lua finds its record. Jobs whose
  data cannot be routed go to the invalid list, where the worker fails them with a validation error. A job whose
  trace id already has an outcome is a repeated enqueue of a finished update: it is dropped. A job taken in gets its
  `ingestedAt` (for `explain`), in the one HSET of the job this adds, with the addresses it sets when it sets a
  unique value (`sets`; the update is then also indexed under `setby:`, see indexSetter).

  KEYS[1] wait list
  KEYS[2] sequence counter
  KEYS[3] groups set
  KEYS[4] inflight hash
  KEYS[5] invalid list
  KEYS[6] stats hash
  KEYS[7] interactive wait list

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`; routing by job-data.lua)
  ARGV[3] max jobs to move
  ARGV[4] this shard's index, ARGV[5] the queue's shard count (shards.lua): a job of an account another shard
  holds (enqueued with another QUEUE_SHARDS) goes to the invalid list, and fails with a message that says so

  Run twice: each run moves the jobs it pops, so a second run moves the next ones; only the counts it returns
  are its own.

  Returns: { moved, invalid, duplicates, still waiting (both lists), of the moved the interactive ones }
]]
local rcall = redis.call
local max = tonumber(ARGV[3])
local shard, shardCount = tonumber(ARGV[4]) or 0, tonumber(ARGV[5]) or 1
local ids = {}
local function take(listKey, n)
  if n <= 0 then return end
  for _, id in ipairs(rcall('RPOP', listKey, n) or {}) do ids[#ids + 1] = id end
end
take(KEYS[7], math.ceil(max / 2))
take(KEYS[1], max - #ids)
take(KEYS[7], max - #ids)
if #ids == 0 then return { 0, 0, 0, 0 } end

local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

-- One INCRBY reserves a sequence number for every job popped; numbers of jobs that need none are left unused,
-- which keeps the order and costs nothing.
local nextSeq = rcall('INCRBY', KEYS[2], #ids) - #ids
local groupsSeen = {}

-- An update that sets a unique value (a contact's email, or a new value of the property it is addressed by) is
-- indexed under that value's address (`setby:`, and `sets` in its job): a batch/read that does not find the value
-- yet, because this update has not landed, then leaves the updates addressed by it waiting (resolve.lua).
local function indexSetter(group, d, jobId)
  if type(d.properties) ~= 'table' then return nil end
  local own = d.idProperty and K.addressKey(group, d.idProperty, d.id)
  local sets = {}
  local function index(property)
    local value = d.properties[property]
    if type(value) ~= 'string' or value == '' or string.find(value, '%s') then return end
    local addrKey = K.addressKey(group, property, value)
    if addrKey == own then return end
    rcall('SADD', K.addressSetters(addrKey), jobId)
    sets[#sets + 1] = addrKey
  end
  if d.objectType == 'contacts' then index('email') end
  if d.idProperty and not (d.objectType == 'contacts' and d.idProperty == 'email') then index(d.idProperty) end
  if #sets > 0 then return table.concat(sets, '\n') end
  return nil
end
-- The objects this run gave updates, in the order first seen: { objKey, group, oldest ts, oldest interactive ts }.
local touched, touchedList = {}, {}
local moved, invalid, dups, urgentMoved = 0, 0, 0, 0
for _, jobId in ipairs(ids) do
  nextSeq = nextSeq + 1
  local jobKey = K.job(jobId)
  local fields = rcall('HMGET', jobKey, 'data', 'timestamp', 'seq')
  local raw = fields[1]
  if raw then
    local d = JobData.route(raw)
    -- Ordering, fencing and the budget hold within a shard: an account's update in another shard's queue could
    -- land after a newer one, so it is not taken.
    if d and shardCount > 1 and Shards.of(JobData.account(d), shardCount) ~= shard then d = nil end
    if not d then
      rcall('RPUSH', KEYS[5], jobId)
      invalid = invalid + 1
    else
      local traceId = d.objectWriteTraceId or K.traceOfJobId(jobId)
      if rcall('EXISTS', K.outcome(traceId)) == 1 then
        rcall('DEL', jobKey)
        dups = dups + 1
      else
        -- Given at enqueue, or a replayed update's first one: newer values that landed still win.
        local seq = tonumber(fields[3]) or nextSeq
        local ts = tonumber(fields[2]) or now
        local group = K.group(JobData.account(d), d.objectType)
        -- Anything but the interactive lane is bulk here; the worker's validation fails a bad value by name.
        local interactive = d.priority == 'interactive'
        -- One HSET for the ingest time and, for an update that sets unique values, the addresses it sets.
        local sets = indexSetter(group, d, jobId)
        if sets then
          rcall('HSET', jobKey, 'ingestedAt', now, 'sets', sets)
        else
          rcall('HSET', jobKey, 'ingestedAt', now)
        end
        local objKey = d.idProperty == nil and K.objectKey(group, '', d.id) or nil
        if objKey == nil then
          -- Addressed by a unique property's value: its record, when the value is known to name one.
          local addrKey = K.addressKey(group, d.idProperty, d.id)
          local recordId = rcall('GET', K.address(addrKey))
          if recordId then
            objKey = K.objectKey(group, '', recordId)
          else
            Entries.insert(K.unresolved(addrKey), K.entry(seq, ts, 0, jobId, interactive))
            rcall('ZADD', K.unresolvedAddresses(group), 'NX', ts, addrKey)
            if not groupsSeen[group] then
              rcall('SADD', KEYS[3], group)
              groupsSeen[group] = true
            end
          end
        end
        if objKey then Entries.insert(K.objectUpdates(objKey), K.entry(seq, ts, 0, jobId, interactive)) end
        -- An update numbered before ingest may be older than what landed since: its object's fence must outlive it.
        if objKey and fields[3] then rcall('PERSIST', K.landed(objKey)) end
        -- Made claimable below, unless in flight: scored by the oldest update of the object this run saw and by its
        -- oldest interactive one (Lanes.addAll keeps an older score already there).
        if objKey then
          local o = touched[objKey]
          if not o then
            o = { objKey, group, ts, nil }
            touched[objKey] = o
            touchedList[#touchedList + 1] = o
          end
          if ts < o[3] then o[3] = ts end
          if interactive and (not o[4] or ts < o[4]) then o[4] = ts end
        end
        moved = moved + 1
        if interactive then urgentMoved = urgentMoved + 1 end
      end
    end
  end
end
-- One HMGET of the in-flight marks (in chunks: unpack's stack is bounded) and one ZADD NX per group and lane,
-- rather than an HEXISTS and a ZADD per update.
local CHUNK = 1000
local byGroup, groupOrder = {}, {}
for from = 1, #touchedList, CHUNK do
  local keys = {}
  for i = from, math.min(#touchedList, from + CHUNK - 1) do keys[#keys + 1] = touchedList[i][1] end
  local marks = rcall('HMGET', KEYS[4], unpack(keys))
  for j = 1, #keys do
    if not marks[j] then
      local o = touchedList[from + j - 1]
      local group = o[2]
      if not byGroup[group] then
        byGroup[group] = {}
        groupOrder[#groupOrder + 1] = group
      end
      local list = byGroup[group]
      list[#list + 1] = { o[1], o[3], o[4] }
    end
  end
end
for _, group in ipairs(groupOrder) do
  Lanes.addAll(group, byGroup[group])
  if not groupsSeen[group] then
    rcall('SADD', KEYS[3], group)
    groupsSeen[group] = true
  end
end
if moved > 0 then rcall('HINCRBY', KEYS[6], 'pending', moved) end
return { moved, invalid, dups, rcall('LLEN', KEYS[1]) + rcall('LLEN', KEYS[7]), urgentMoved }

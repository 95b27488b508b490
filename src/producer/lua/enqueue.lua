--[[
  Enqueues updates as BullMQ-compatible jobs, idempotently, all or nothing, in one call.

  A trace id names one update. An update whose trace id is already in use is a duplicate (skipped) when it is the
  same update, and a conflict when it is not:
  - while its job hash exists (queued, in flight, retrying, or failed and kept for replay), the same update means
    the same job data (the producer writes canonical JSON), or data whose SHA-1 the producer passed as accepted
    (it compared a job another client wrote in its canonical form);
  - once only its outcome record is left (finished), the same update means the same fingerprint (`fp`); a record
    without one predates fingerprints and counts as the same.
  Updates earlier in the same call count as well. If any update conflicts, nothing is written (but the queue's
  shard count, which a call to shard 0 records when none is) and the conflicts are returned. Only the fields BullMQ needs to read a job and the queue's own (its sequence, when it was taken
  in, the addresses it sets) are written, and no event-stream entries, to keep memory per update small.

  Running twice is harmless: ioredis re-sends a script whose answer was lost to a reconnect, and the second run
  would see the first run's jobs as duplicates. So the result is kept under the call's request id (KEYS[3]) for
  ARGV[3] seconds, and a re-run with the same request id returns it without looking at anything else.

  Each new job gets its sequence number here (`seq` in its hash, from the queue's one counter, which ingest uses
  for other clients' jobs), so the fencing order is the enqueue order. Each is filed where its update goes at once
  (intake.lua: its object's list, claimable in its group's lanes), so a worker takes it with no step between:
  nothing of it passes through BullMQ's wait list, which ingest reads for other clients. The producer works out
  each update's route (producer/route.ts), so nothing is decoded here; one it could not route (it validates, so
  none should be) goes to the wait list instead, where ingest fails it by name. The shard is the producer's to
  pick (by account, shards.ts); the shard's place as its workers were given it (KEYS[6], set by every worker at
  start) is the backstop: when it differs from the producer's (or, in a shard other than shard 0, when none is
  recorded yet), the call files nothing itself and leaves every update on the wait list, where ingest fails those
  of an account another shard holds, by name.

  KEYS[1] wait list (BullMQ's)
  KEYS[2] marker zset (wakes blocked consumers)
  KEYS[3] result of this call, under its request id
  KEYS[4] interactive wait list (for an interactive update left to ingest)
  KEYS[5] sequence counter
  KEYS[6] this shard's place as its workers were given it (`index/count`; absent before any worker started)
  KEYS[7] the queue's shard count key (in shard 0: read, and recorded when absent, only by a call to shard 0)

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] seconds to keep the result
  ARGV[4] the producer's W3C traceparent ('' for none): kept in each new job's `tp` field, so the worker links its
          HubSpot call spans to the span that enqueued (outside the data, which names the update)
  ARGV[5] the producer's place for this shard, `index/count`
  ARGV[6..] groups of ten: job id, trace id, job data (canonical JSON), fingerprint of the data (16 hex digits),
            accepted SHA-1 of an existing job's data ('' for none), 'i' for the interactive lane ('' for bulk),
            then the update's route as the producer works it out (producer/route.ts, the same as Intake.route):
            group ('' when the producer leaves it to ingest: the job then goes to the wait list, and its object
            key, when given, has its fence made persistent), object key, address, addresses it sets

  Returns: { 'ok', s1, s2, ... } with one integer per update, 1 = added, 0 = duplicate; or
           { 'conflict', n1, by1, n2, by2, ... }: 1-based positions of the conflicting updates, each with what
           holds its trace id ('queued', 'finished', or 'call:<position>' for an earlier update of this call);
           then nothing was written.
]]
local rcall = redis.call
local kept = rcall('GET', KEYS[3])
if kept then return cjson.decode(kept) end

-- Shard 0 holds the queue's shard count: a producer whose count differs (it outlived a queue re-created with
-- another QUEUE_SHARDS) is refused, and one that finds none recorded (the queue is new, or was obliterated since
-- the producer checked) records its own, so a worker given another refuses to start.
local index, count = string.match(ARGV[5], '^(%d+)/(%d+)$')
if index == '0' then
  local recorded = rcall('GET', KEYS[7])
  if not recorded then
    rcall('SET', KEYS[7], count)
  elseif recorded ~= count then
    return { 'shards', recorded }
  end
end

local keepSeconds = tonumber(ARGV[3])

-- Pass one decides every update without writing, so a conflict leaves the queue untouched.
local fresh = {}      -- job id -> { data, position } of updates this call adds
local status = {}
local conflicts = {}
local n = 0
for i = 6, #ARGV, 10 do
  n = n + 1
  local jobId, traceId, data, fp, accepted = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local same, by
  local earlier = fresh[jobId]
  if earlier then
    same, by = earlier[1] == data, 'call:' .. earlier[2]
  else
    local existing = rcall('HGET', K.job(jobId), 'data')
    if existing then
      same = existing == data or (accepted ~= '' and redis.sha1hex(existing) == accepted)
      by = 'queued'
    else
      local record = rcall('GET', K.outcome(traceId))
      if record then
        local read = K.readRecord(record)
        local stored = read and read.fp
        same = stored == nil or stored == fp
        by = 'finished'
      end
    end
  end
  if same == nil then
    status[n] = 1
    fresh[jobId] = { data, n }
  elseif same then
    status[n] = 0
  else
    conflicts[#conflicts + 1] = n
    conflicts[#conflicts + 1] = by
  end
end

local result
if #conflicts > 0 then
  result = { 'conflict' }
  for _, v in ipairs(conflicts) do result[#result + 1] = v end
else
  local t = rcall('TIME')
  local now = tostring(t[1] * 1000 + math.floor(t[2] / 1000))
  result = { 'ok' }
  local traceparent = ARGV[4]
  local added = 0
  for _, s in ipairs(status) do
    if s == 1 then added = added + 1 end
  end
  -- One INCRBY for the call; numbers go out in the order of the call, the order ingest would have kept.
  local seq = added > 0 and (rcall('INCRBY', KEYS[5], added) - added) or 0
  -- Shard 0 (or the only shard) checked the count above; another shard with no place recorded yet leaves its
  -- updates to ingest, which checks each account against its workers' place.
  local place = rcall('GET', KEYS[6])
  local files = place == ARGV[5] or (not place and index == '0')
  Intake.begin(tonumber(now))
  n = 0
  for i = 6, #ARGV, 10 do
    n = n + 1
    if status[n] == 1 then
      local jobId, data = ARGV[i], ARGV[i + 2]
      seq = seq + 1
      -- The name tells the worker this data was validated here (CHECKED_JOB_NAME).
      local fields = { 'name', K.CHECKED_JOB_NAME, 'data', data, 'timestamp', now, 'seq', seq }
      if traceparent ~= '' then
        fields[#fields + 1] = 'tp'
        fields[#fields + 1] = traceparent
      end
      if files and ARGV[i + 6] ~= '' then
        local route = { group = ARGV[i + 6], objKey = ARGV[i + 7], addrKey = ARGV[i + 8], sets = ARGV[i + 9] }
        -- Just numbered: the newest entry of its list.
        Intake.take(jobId, route, ARGV[i + 5] == 'i', seq, tonumber(now), true, fields)
      else
        rcall('HSET', K.job(jobId), unpack(fields))
        rcall('LPUSH', ARGV[i + 5] == 'i' and KEYS[4] or KEYS[1], jobId)
        -- Newer updates of its record may be filed and land before ingest takes it: the fence must outlive it.
        if ARGV[i + 7] ~= '' then rcall('PERSIST', K.landed(ARGV[i + 7])) end
      end
    end
    result[#result + 1] = status[n]
  end
  Intake.finish()
  if added > 0 then rcall('ZADD', KEYS[2], 0, '0') end
end
rcall('SET', KEYS[3], cjson.encode(result), 'EX', keepSeconds)
return result

--[[
  Settles one claimed batch atomically: records outcomes, advances the landed-sequence fence, schedules retries,
  hands back updates that were not attempted, sets holds, and releases the batch's objects (claimable again, in
  both lanes, when updates of theirs still wait: lanes.lua).

  The batch record must still exist: if the lease expired and another worker took the updates over, nothing is
  written (the other worker owns their outcome), so every update gets exactly one terminal outcome.

  Holds: an object whose call may still apply (a timeout, a reset, a 5xx after the request left) is held for the
  given time: until then only the updates of that call may be claimed again (claim.lua), so a late apply of the
  call can never land after a newer value. An existing hold that ends later is kept, and its updates with it.

  Tentative fences: `~prop` lists (comma separated, ascending) the sequences of the values of `prop` sent in calls
  that may have applied; the newest of them bars older values. A refused value is taken out (no call carrying it
  applied: HubSpot refuses the same value the same way), so the values it barred may be written again, and so
  are values a landed fence covers.

  Fences: an object's fence stays persistent while updates of the object are left in the queue (pending, or a
  retry, this batch's or one an earlier batch scheduled that is not due yet: `#retry` in the fence, the latest due
  time, as settle does not read the delayed zset); once none is, it expires with the outcome TTL, which also
  outlives every failed update of the object kept for replay.

  Operator failure: a batch that `fail-account` marked while it was in flight (field `#fail` of its record, the
  error message) may not hand anything back to the queue. A plan that would (a retry or a hand-back) is refused
  without writing anything, with the message, and the caller settles again with those updates failed
  (OPERATOR_FAILED). What the call settled (succeeded, failed, superseded) is recorded as it happened: marking
  and settling are each atomic, so an update ends with exactly one outcome.

  Outcome records are built here (finish.lua) from the plan's facts; every terminal outcome gets its `finishedAt`
  here, on Redis's clock (the clock of `enqueuedAt`).

  Run twice: a settle that runs twice (its reply lost, the command re-sent) finds the marker its first run left and
  returns 1 without writing anything; a refused plan is refused again. The story is a SET of the same value.

  KEYS[1] inflight hash
  KEYS[2] leases zset
  KEYS[3] batch hash
  KEYS[4] groups set
  KEYS[5] delayed zset
  KEYS[6] stats hash
  KEYS[7] failed zset (dead-letter index; members `traceId|category|jobId`)
  KEYS[8] settled marker of this batch
  KEYS[9] holds hash
  KEYS[10] held zset

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] batch id
  ARGV[4] outcome TTL seconds
  ARGV[5] plan, JSON: { objects: [ { key, group,
            done: [ { job, seq, trace, status, attempts, enqueuedAt, fp, hubspotObjectId, error, priority, sets } ],
              -- sets: the job's `sets` as the claim read it ('' for none; absent: read from the job)
            retry: [ { entry, delayMs, trace, attempts, enqueuedAt, fp, error, priority } ],  -- entry: the new
              attempt count (and the lane mark); priority: 'interactive' or absent, for the outcome record
            requeue: [ entry, ... ],                         -- back to pending, no attempt spent
            landed: { prop: seq },
            sent: { prop: seq } (optional: the tentative fence of a call that may have applied, `~prop`),
            refuted: { prop: seq } (optional: values HubSpot refused, which leave the tentative fence),
            hold: { ms, jobs: [ jobId, ... ] } (optional),
            learn: [ { idProperty, value } ] (optional: unique values the record now has, see addresses.lua;
              updates addressed by such a value that waited for it to be set join the record),
            unresolve: [ { entry, address } ] (optional: updates whose cached mapping HubSpot refuted: the
              mapping is dropped and they wait for their address to be looked up again),
            history: [ { job, batches } ] (optional: updates that stay queued after a call carried them keep
              the batches they were in, in their job's `hist`) } ] }
            done and retry facts may carry `ingestedAt` and `hist` for the outcome record (`explain`).
  ARGV[6] seconds a learnt address mapping is kept
  ARGV[7] the batch's story (JSON, see story/batch-story.ts), or '': kept for the outcome TTL under `story:<batch
          id>`, also when the batch was lost (its calls happened all the same), so `explain` can tell them

  Returns: 1 when settled (now or by an earlier run), 0 when the batch was no longer ours, {'fail', message} when
  the batch was marked to fail and the plan hands updates back.
]]
local rcall = redis.call
local batchId = ARGV[3]
local ttl = tonumber(ARGV[4])
local mapTtl = tonumber(ARGV[6])
if rcall('EXISTS', KEYS[8]) == 1 then return 1 end
if ARGV[7] and ARGV[7] ~= '' then rcall('SET', K.story(batchId), ARGV[7], 'EX', ttl) end
if rcall('EXISTS', KEYS[3]) == 0 then return 0 end

local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local plan = cjson.decode(ARGV[5])

local failMark = rcall('HGET', KEYS[3], '#fail')
if failMark then
  for _, obj in ipairs(plan.objects) do
    if #obj.retry > 0 or #obj.requeue > 0 or #(obj.unresolve or {}) > 0 then return { 'fail', failMark } end
  end
end

local function setHold(objKey, hold)
  local untilMs = now + hold.ms
  local jobs = {}
  local seen = {}
  for _, job in ipairs(hold.jobs) do
    if not seen[job] then jobs[#jobs + 1] = job; seen[job] = true end
  end
  local currentUntil, currentJobs = K.parseHold(rcall('HGET', KEYS[9], objKey))
  if currentUntil and currentUntil > now then
    if currentUntil > untilMs then untilMs = currentUntil end
    for job in pairs(currentJobs) do
      if not seen[job] then jobs[#jobs + 1] = job; seen[job] = true end
    end
  end
  rcall('HSET', KEYS[9], objKey, K.hold(untilMs, jobs))
  rcall('ZADD', KEYS[10], untilMs, objKey)
end

-- The batch's in-flight marks, read at once: each is dropped (below, in one HDEL) only while it names this batch.
local marks = {}
if #plan.objects > 0 then
  local keys = {}
  for i, obj in ipairs(plan.objects) do keys[i] = obj.key end
  local owners = rcall('HMGET', KEYS[1], unpack(keys))
  for i, key in ipairs(keys) do
    if owners[i] == batchId then marks[#marks + 1] = key end
  end
end

local settled, requeued, delayed, inflight = 0, 0, 0, 0
for _, obj in ipairs(plan.objects) do
  local objKey = obj.key
  local listKey = K.objectUpdates(objKey)
  local account, objectType, idProperty, id = K.parseObjectKey(objKey)
  local function facts(d, status, finishedAt)
    return {
      trace = d.trace, status = status, account = account, objectType = objectType, id = d.id or id,
      idProperty = d.idProperty or idProperty, attempts = d.attempts, enqueuedAt = d.enqueuedAt, finishedAt = finishedAt,
      hubspotObjectId = d.hubspotObjectId, error = d.error, fp = d.fp, priority = d.priority,
      ingestedAt = d.ingestedAt, hist = d.hist,
    }
  end
  -- Objects are records keyed by their id (an object still keyed by an address learns nothing).
  local recordId = idProperty == '' and id or nil
  -- Addresses whose waiting updates the learning below delivers to this record: an update that set one need not
  -- queue them for a lookup first (finish.lua).
  local delivered = {}
  if recordId then
    for _, l in ipairs(obj.learn or {}) do
      if l.value ~= '' then delivered[K.addressKey(obj.group, l.idProperty, l.value)] = true end
    end
  end
  for _, d in ipairs(obj.done) do
    Outcome.finish(d.job, facts(d, d.status, now), d.seq, true, ttl, { sets = d.sets, delivered = delivered })
    settled = settled + 1
  end
  local landedKey = K.landed(objKey)
  -- The fence in one HMGET and one HSET (an HDEL for tentative lists left empty): every property the plan may
  -- move is read with its `~prop` list, the new values are worked out here, and only fields that change are
  -- written. The landed fence only moves forward.
  -- Tentative fences: a call that may have applied adds what it carried (no value older than those may be written
  -- after it); a value HubSpot refused leaves (no call carrying it applied); a value as old as a landed one is
  -- covered by the landed fence.
  -- Retries wait in the delayed zset, where no later settle of the object sees them: the fence keeps the due time
  -- of the latest (`#retry`) and stays persistent until then, so an older value retried late cannot land over a
  -- newer one once its fence has gone.
  local retryDue
  for _, r in ipairs(obj.retry) do
    if not retryDue or now + r.delayMs > retryDue then retryDue = now + r.delayMs end
  end
  local storedDue
  local props, isProp = {}, {}
  local function consider(prop)
    if not isProp[prop] then isProp[prop] = true; props[#props + 1] = prop end
  end
  for prop in pairs(obj.landed) do consider(prop) end
  for prop in pairs(obj.sent or {}) do consider(prop) end
  for prop in pairs(obj.refuted or {}) do consider(prop) end
  -- Read with the fence's other fields below; with none to move, only when a retry is to be recorded (or, at the
  -- end, when the fence would otherwise be given its TTL).
  local dueRead = false
  if #props == 0 then
    if retryDue then
      storedDue = tonumber(rcall('HGET', landedKey, K.RETRY_DUE_FIELD))
      dueRead = true
      if not storedDue or retryDue > storedDue then rcall('HSET', landedKey, K.RETRY_DUE_FIELD, retryDue) end
    end
  else
    dueRead = true
    local fields = {}
    for i, prop in ipairs(props) do
      fields[2 * i - 1] = prop
      fields[2 * i] = '~' .. prop
    end
    fields[#fields + 1] = K.RETRY_DUE_FIELD
    local current = rcall('HMGET', landedKey, unpack(fields))
    local writes, drops = {}, {}
    storedDue = tonumber(current[#fields])
    if retryDue and (not storedDue or retryDue > storedDue) then
      writes[#writes + 1] = K.RETRY_DUE_FIELD
      writes[#writes + 1] = retryDue
    elseif storedDue and storedDue <= now and not retryDue then
      drops[#drops + 1] = K.RETRY_DUE_FIELD
    end
    for i, prop in ipairs(props) do
      local landedSeq = tonumber(current[2 * i - 1])
      local seq = obj.landed[prop]
      if seq and (landedSeq == nil or seq > landedSeq) then
        landedSeq = seq
        writes[#writes + 1] = prop
        writes[#writes + 1] = seq
      end
      landedSeq = landedSeq or -1
      local field, raw = '~' .. prop, current[2 * i]
      local sent = obj.sent and obj.sent[prop]
      if raw or sent then
        local refuted = obj.refuted and obj.refuted[prop]
        local seqs, seen = {}, {}
        local function keep(s)
          if s > landedSeq and s ~= refuted and not seen[s] then seqs[#seqs + 1] = s; seen[s] = true end
        end
        for part in string.gmatch(raw or '', '[^,]+') do keep(tonumber(part)) end
        if sent then keep(sent) end
        table.sort(seqs)
        if #seqs == 0 then
          if raw then drops[#drops + 1] = field end
        else
          local list = table.concat(seqs, ',')
          if list ~= raw then
            writes[#writes + 1] = field
            writes[#writes + 1] = list
          end
        end
      end
    end
    if #writes > 0 then rcall('HSET', landedKey, unpack(writes)) end
    if #drops > 0 then rcall('HDEL', landedKey, unpack(drops)) end
  end
  for _, r in ipairs(obj.retry) do
    rcall('SET', K.outcome(r.trace), Outcome.record(facts(r, 'retrying', nil)), 'EX', ttl)
    rcall('ZADD', KEYS[5], now + r.delayMs, K.delayedMember(objKey, r.entry))
    delayed = delayed + 1
  end
  -- Back in sequence order (entries.lua): an update ingested while the batch was out may be older than these.
  Entries.putBack(listKey, obj.requeue)
  requeued = requeued + #obj.requeue
  for _, h in ipairs(obj.history or {}) do
    if rcall('EXISTS', K.job(h.job)) == 1 then rcall('HSET', K.job(h.job), 'hist', h.batches) end
  end
  if obj.hold then setHold(objKey, obj.hold) end
  -- The same value is often learnt twice (the address an update used, and the value it wrote): it is remembered at
  -- its last place in the list only, which leaves the mappings as remembering every one in order would.
  local learn = obj.learn or {}
  local lastOf = {}
  for i, l in ipairs(learn) do lastOf[l.idProperty .. '\n' .. l.value] = i end
  for i, l in ipairs(learn) do
    if recordId and lastOf[l.idProperty .. '\n' .. l.value] == i then
      Addresses.remember(obj.group, l.idProperty, l.value, recordId, mapTtl)
      -- Updates addressed by the value that waited for this update to set it (resolve.lua) join the record.
      -- (They were pending all along: no counter moves.)
      if l.value ~= '' then
        Addresses.deliver(obj.group, K.addressKey(obj.group, l.idProperty, l.value), recordId, KEYS[4], KEYS[1])
      end
    end
  end
  local unresolve = obj.unresolve or {}
  for _, u in ipairs(unresolve) do
    if recordId then Addresses.forget(u.address, recordId) end
    local _, ts, _, jobId = K.parseEntry(u.entry)
    -- Looked up again once: if HubSpot still does not know the record, the update fails.
    rcall('HINCRBY', K.job(jobId), 'resolves', 1)
    Entries.insert(K.unresolved(u.address), u.entry)
    rcall('ZADD', K.unresolvedAddresses(obj.group), 'NX', ts, u.address)
    rcall('SADD', KEYS[4], obj.group)
    requeued = requeued + 1
  end
  inflight = inflight + #obj.done + #obj.retry + #obj.requeue + #unresolve
  local first = Lanes.claimable(obj.group, objKey)
  if first then rcall('SADD', KEYS[4], obj.group) end
  -- A retry still due (this batch's, or an earlier one's: `#retry`) keeps the fence until a settle after it is due
  -- (or fail-account) gives it its TTL: no worker may run between the due time and the TTL's end.
  if not (first or #obj.retry > 0 or dueRead) then
    storedDue = tonumber(rcall('HGET', landedKey, K.RETRY_DUE_FIELD))
  end
  if first or #obj.retry > 0 or (storedDue or 0) > now then
    rcall('PERSIST', landedKey)
  else
    rcall('EXPIRE', landedKey, ttl)
  end
end
if #marks > 0 then rcall('HDEL', KEYS[1], unpack(marks)) end
rcall('DEL', KEYS[3])
rcall('ZREM', KEYS[2], batchId)
rcall('SET', KEYS[8], '1', 'PX', 600000)
Outcome.flush(KEYS[6])
if inflight > 0 then rcall('HINCRBY', KEYS[6], 'inflight', -inflight) end
if requeued > 0 then rcall('HINCRBY', KEYS[6], 'pending', requeued) end
if delayed > 0 then rcall('HINCRBY', KEYS[6], 'delayed', delayed) end
return 1

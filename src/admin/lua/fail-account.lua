--[[
  An operator's decision: fails every update of one account that is waiting to be sent (pending, held after an
  ambiguous call, waiting behind an object in flight, or in retry backoff), e.g. after its credentials were
  revoked for good. The failed updates keep their jobs, so
  `retry-failed` can bring them back once the account works again. The caller fails the account's jobs still in
  BullMQ's wait list (fail-account-wait.lua) and those waiting for their address to be resolved
  (fail-account-unresolved.lua) before this script, in bounded calls, and the latter once more after it.

  Only updates fail: the holds of the account's objects (a call that may still apply, settle.lua) and their
  fences stay, so an update enqueued later is still not sent before the hold ends and cannot land under an
  older value that call carried.

  Batches of the account in flight are marked (`#fail` in their record, the message): their settle fails what
  it would hand back or retry, and records what their call settled as it happened (settle.lua). Marking here
  and settling there are each atomic, so an update settled before this script is failed here (it waits again)
  or was finished, and one settled after is failed there: never both. A marked batch whose worker dies is
  taken back like any other (tick.lua) and its updates wait again: run the command once more.

  KEYS[1] groups set
  KEYS[2] delayed zset
  KEYS[3] stats hash
  KEYS[4] failed zset (members `traceId|category|jobId`)
  KEYS[5] result key of this request
  KEYS[6] leases zset (in-flight batch ids)

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] account
  ARGV[4] outcome TTL seconds
  ARGV[5] error message
  ARGV[6] '1' for a dry run: count what would fail and change nothing
  ARGV[7] seconds to keep this request's result

  Returns: { failed pending updates, failed delayed updates, updates in marked in-flight batches } (in a dry
  run, those that would be failed or marked)

  Run twice: the first run stores its result under the request's key (KEYS[5], a fresh id per call) and a
  re-run with the same key returns that stored result without touching anything, so the count an operator is
  shown is the number of updates this request failed. Without the stored result a re-run would still be
  harmless (the updates it failed no longer wait), only its count would be zero.
]]
local rcall = redis.call
local account = ARGV[3]
local ttl, message = tonumber(ARGV[4]), ARGV[5]
local dryRun = ARGV[6] == '1'
if not dryRun then
  local stored = rcall('GET', KEYS[5])
  if stored then return cjson.decode(stored) end
end
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
-- Every group and object key of the account starts with this.
local prefix = K.group(account, '')

local function fail(objKey, entry)
  local seq, ts, attempts, jobId, interactive = K.parseEntry(entry)
  local d, data = JobData.read(jobId)
  local _, objectType, idProperty, id = K.parseObjectKey(objKey)
  Outcome.finish(jobId, {
    trace = JobData.trace(d, jobId),
    status = 'failed', account = account, objectType = objectType, id = id, idProperty = idProperty,
    attempts = attempts, enqueuedAt = ts, finishedAt = now,
    error = { category = 'OPERATOR_FAILED', message = message },
    fp = JobData.fingerprint(data), priority = interactive and 'interactive' or nil,
  }, seq, true, ttl)
end

-- Fails what waits in an object's list (updates pending, or arrived while it was held or in flight).
local function failList(objKey)
  local listKey = K.objectUpdates(objKey)
  local n = 0
  for _, entry in ipairs(rcall('LRANGE', listKey, 0, -1)) do
    if not dryRun then fail(objKey, entry) end
    n = n + 1
  end
  if not dryRun then rcall('DEL', listKey) end
  return n
end

-- Nothing of the object is left to write: its fence expires with the outcome TTL (it outlives the failed jobs).
local function releaseFence(objKey)
  if not dryRun and rcall('HEXISTS', K.inflight, objKey) == 0 then
    rcall('EXPIRE', K.landed(objKey), ttl)
  end
end

local pending = 0
for _, group in ipairs(rcall('SMEMBERS', KEYS[1])) do
  if string.sub(group, 1, #prefix) == prefix then
    local zkey = K.pending(group)
    for _, objKey in ipairs(rcall('ZRANGE', zkey, 0, -1)) do
      pending = pending + failList(objKey)
      releaseFence(objKey)
    end
    if not dryRun then
      rcall('DEL', zkey, K.interactive(group))
      -- A group with addresses still waiting stays listed, so they are resolved (or failed by fail-account's
      -- unresolved pass, which finds groups here); ready.lua drops it once it has neither.
      if rcall('ZCARD', K.unresolvedAddresses(group)) == 0 then rcall('SREM', KEYS[1], group) end
    end
  end
end

-- Held objects wait in the held zset, not in their group's pending zset. Only their updates fail: the hold and
-- the held entry stay, because the call that set the hold may still apply at HubSpot. Ending the hold here would
-- let an update enqueued after this script be sent at once and land under that older value. The hold ends as
-- any other does (tick.lua, or claim.lua once it is over), and then the object is claimable if anything waits.
for _, objKey in ipairs(rcall('ZRANGE', K.held, 0, -1)) do
  if string.sub(objKey, 1, #prefix) == prefix then
    pending = pending + failList(objKey)
    releaseFence(objKey)
  end
end

local delayed = 0
for _, member in ipairs(rcall('ZRANGE', KEYS[2], 0, -1)) do
  if string.sub(member, 1, #prefix) == prefix then
    if not dryRun then
      local objKey, entry = K.parseDelayedMember(member)
      fail(objKey, entry)
      rcall('ZREM', KEYS[2], member)
      releaseFence(objKey)
    end
    delayed = delayed + 1
  end
end

local inflight = 0
for _, batchId in ipairs(rcall('ZRANGE', KEYS[6], 0, -1)) do
  local batchKey = K.batch(batchId)
  local fields = rcall('HGETALL', batchKey)
  local ours = false
  local updates = 0
  for i = 1, #fields, 2 do
    local field = fields[i]
    if string.sub(field, 1, 1) ~= '#' then
      -- A batch holds one group: one account.
      if string.sub(field, 1, #prefix) == prefix then
        ours = true
        -- Updates of the object that arrived while it was in flight wait in its list.
        pending = pending + failList(field)
      end
      for _ in K.eachEntry(fields[i + 1]) do updates = updates + 1 end
    end
  end
  if ours then
    if not dryRun then rcall('HSET', batchKey, '#fail', message) end
    inflight = inflight + updates
  end
end

if dryRun then return { pending, delayed, inflight } end
if pending + delayed > 0 then
  -- Redis rejects '-0' as an integer, so only non-zero decrements are sent.
  if pending > 0 then rcall('HINCRBY', KEYS[3], 'pending', -pending) end
  if delayed > 0 then rcall('HINCRBY', KEYS[3], 'delayed', -delayed) end
end
Outcome.flush(KEYS[3])
rcall('SET', KEYS[5], cjson.encode({ pending, delayed, inflight }), 'EX', tonumber(ARGV[7]))
return { pending, delayed, inflight }

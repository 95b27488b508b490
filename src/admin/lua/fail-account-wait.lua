--[[
  One step of `fail-account` over BullMQ's wait list: fails the account's jobs that no worker has ingested yet,
  as fail-account.lua fails the ones ingested (failed, OPERATOR_FAILED, the operator's message; jobs kept for
  `retry-failed`), and takes them off the wait list. Jobs of other accounts stay where they are.

  Bounded: the wait list can hold millions of jobs (workers down or far behind), so one call examines at most
  ARGV[8] of them (one HMGET and one JSON decode each) and the caller calls again with the cursor it returned,
  until `done`. The scan goes from the tail (the oldest job, the next one ingest pops) towards the head, in
  enqueue order, so the sequence numbers given to failed jobs keep enqueue order, as ingest's do. Besides the
  chunk, a call costs finding its place again (LINDEX; LPOS over the jobs it passed, only when ingest popped some
  meanwhile) and one LREM pass from the nearer end of the list: comparisons, no decoding.

  Cursor: how many jobs the scan passed and left in the list (counted from the tail), and the last of them (the
  boundary). Between calls producers only push at the head and ingest only pops at the tail (LPUSH and RPOP, by
  the order BullMQ and enqueue.lua keep; a BullMQ client adding with `lifo` would push at the tail), so the
  boundary only moves towards the tail: when ingest popped it, everything it passed is gone too and the scan
  goes on from the tail. Nothing is skipped and nothing examined twice except after such a restart.

  KEYS[1] wait list
  KEYS[2] sequence counter
  KEYS[3] stats hash
  KEYS[4] result key of this call (the request's id and the call's number)

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`; finish.lua, job-data.lua)
  ARGV[3] account
  ARGV[4] outcome TTL seconds
  ARGV[5] error message
  ARGV[6] '1' for a dry run: count what would fail and change nothing
  ARGV[7] seconds to keep this call's result
  ARGV[8] jobs to examine at most
  ARGV[9] cursor: jobs passed and left, counted from the tail ('0' to start)
  ARGV[10] boundary: the last of them ('' to start)

  Returns: { failed (in a dry run: would fail), cursor, boundary, 1 when the scan reached the head else 0,
             jobs examined, length of the wait list when the call began }

  Run twice: the result is stored under KEYS[4] and a re-run returns it without touching anything. Without it a
  re-run would still fail nothing twice (failed jobs left the list and have an outcome); only its counts would
  differ. A job whose trace id already has an outcome is left to ingest, which drops it as a repeated enqueue.
]]
local rcall = redis.call
local account, ttl, message = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local dryRun = ARGV[6] == '1'
local chunk = tonumber(ARGV[8])
local passed, boundary = tonumber(ARGV[9]), ARGV[10]
if not dryRun then
  local stored = rcall('GET', KEYS[4])
  if stored then return cjson.decode(stored) end
end
local len = rcall('LLEN', KEYS[1])

-- Where the scan stopped: the boundary is `passed` jobs from the tail unless ingest popped jobs since.
if boundary == '' then
  passed = 0
elseif rcall('LINDEX', KEYS[1], -passed) ~= boundary then
  local at = rcall('LPOS', KEYS[1], boundary, 'RANK', -1, 'MAXLEN', passed)
  passed = at and (len - at) or 0
  if not at then boundary = '' end
end

local start = passed
local first = math.max(0, len - start - chunk)
-- Head to tail: ids[#ids] is the oldest. (LRANGE 0 -1 would be the whole list, hence the guard.)
local ids = len - start > 0 and rcall('LRANGE', KEYS[1], first, len - start - 1) or {}
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

local ours = {}
for i = #ids, 1, -1 do
  local jobId = ids[i]
  local job = rcall('HMGET', K.job(jobId), 'data', 'timestamp', 'seq')
  local d = JobData.route(job[1])
  local trace = d and (d.objectWriteTraceId or K.traceOfJobId(jobId))
  if d and JobData.account(d) == account and rcall('EXISTS', K.outcome(trace)) == 0 then
    ours[#ours + 1] = { index = first + i - 1, jobId = jobId, d = d, job = job, trace = trace }
  else
    passed = passed + 1
    boundary = jobId
  end
end

local done = first == 0 and 1 or 0
local result = { #ours, passed, boundary, done, #ids, len }
if dryRun or #ours == 0 then
  if not dryRun then rcall('SET', KEYS[4], cjson.encode(result), 'EX', tonumber(ARGV[7])) end
  -- A dry run removes nothing, so what it counted stays passed.
  if dryRun and #ours > 0 then
    result[2] = passed + #ours
    result[3] = ids[1]
  end
  return result
end

-- Sequence numbers as ingest would have given them (a replayed job keeps its own), oldest first.
local fresh = 0
for _, o in ipairs(ours) do
  if not tonumber(o.job[3]) then fresh = fresh + 1 end
end
local nextSeq = fresh > 0 and (rcall('INCRBY', KEYS[2], fresh) - fresh) or 0
-- Unique to this call, so removing it cannot remove a job.
local tombstone = '\0fail-account\0' .. KEYS[4]
for _, o in ipairs(ours) do
  local seq = tonumber(o.job[3])
  if not seq then
    nextSeq = nextSeq + 1
    seq = nextSeq
  end
  local d, raw = o.d, o.job[1]
  Outcome.finish(o.jobId, {
    trace = o.trace, status = 'failed', account = account, objectType = d.objectType, id = d.id,
    idProperty = d.idProperty, attempts = 0, enqueuedAt = tonumber(o.job[2]) or now, finishedAt = now,
    error = { category = 'OPERATOR_FAILED', message = message },
    fp = JobData.fingerprint(raw),
  }, seq, true, ttl)
  rcall('LSET', KEYS[1], o.index, tombstone)
end
-- From the nearer end, stopping at the last one.
if first <= start then
  rcall('LREM', KEYS[1], #ours, tombstone)
else
  rcall('LREM', KEYS[1], -#ours, tombstone)
end
Outcome.flush(KEYS[3])
rcall('SET', KEYS[4], cjson.encode(result), 'EX', tonumber(ARGV[7]))
return result

--[[
  Replays failed updates: their outcome record is dropped and their job, kept since it failed with its original
  sequence number, goes back on the wait list. Ingestion reuses that sequence, so a newer value that landed in
  the meantime still wins (the replay is fenced like any other write).

  A member is replayed only while it is still in the index and its job still has data (jobs of unroutable
  updates are deleted when they fail), and only those members are reported.

  KEYS[1] wait list
  KEYS[2] marker zset
  KEYS[3] failed zset (members `traceId|category|jobId`, or the earlier `jobId|traceId`)
  KEYS[4] stats hash
  KEYS[5] result key of this request

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] '1' for a dry run: report what would be replayed and change nothing
  ARGV[4] seconds to keep this request's result
  ARGV[5..] failed-index members

  Returns: the trace ids put back (or that would be, in a dry run), in the order given.

  Run twice: the first run stores its result under the request's key (KEYS[5], a fresh id per call) and a
  re-run with the same key returns that stored result without touching anything, so an unanswered command that
  ioredis sends again neither replays twice nor reports a different set. Without the stored result a re-run
  would still be harmless (replayed members are no longer in the index), only its report would be empty.
]]
local rcall = redis.call
local dryRun = ARGV[3] == '1'

if not dryRun then
  local stored = rcall('GET', KEYS[5])
  if stored then return cjson.decode(stored) end
end

-- Counters never go below zero, whatever an earlier version left behind.
local function decrement(field)
  local n = tonumber(rcall('HGET', KEYS[4], field))
  if n and n > 0 then rcall('HINCRBY', KEYS[4], field, -1) end
end

local replayed = {}
for i = 5, #ARGV do
  local member = ARGV[i]
  local trace, category, jobId = K.parseFailedMember(member)
  if trace and rcall('ZSCORE', KEYS[3], member) and rcall('HEXISTS', K.job(jobId), 'data') == 1 then
    if not dryRun then
      if category == nil then category = K.categoryOfRecord(rcall('GET', K.outcome(trace))) end
      if category then decrement(K.failedStat(category)) end
      decrement('failed')
      rcall('DEL', K.outcome(trace))
      rcall('PERSIST', K.job(jobId))
      -- A replay starts afresh: how often its batches were taken back before no longer counts.
      rcall('HDEL', K.job(jobId), 'reclaims')
      rcall('ZREM', KEYS[3], member)
      rcall('LPUSH', KEYS[1], jobId)
    end
    replayed[#replayed + 1] = trace
  end
end
if dryRun then return replayed end
if #replayed > 0 then rcall('ZADD', KEYS[2], 0, '0') end
rcall('SET', KEYS[5], cjson.encode(replayed), 'EX', tonumber(ARGV[4]))
return replayed

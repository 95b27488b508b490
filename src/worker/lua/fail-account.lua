--[[
  An operator's decision: fails every update of one account that is waiting to be sent (pending or in retry
  backoff), e.g. after its credentials were revoked for good. Batches in flight are left to settle. The failed
  updates keep their jobs, so `retry-failed` can bring them back once the account works again.

  KEYS[1] groups set
  KEYS[2] delayed zset
  KEYS[3] stats hash
  KEYS[4] failed zset (members `traceId|category|jobId`)
  KEYS[5] result key of this request

  ARGV[1] key root
  ARGV[2] job key prefix
  ARGV[3] outcome key prefix
  ARGV[4] account
  ARGV[5] outcome TTL seconds
  ARGV[6] error message
  ARGV[7] '1' for a dry run: count what would fail and change nothing
  ARGV[8] seconds to keep this request's result

  Returns: { failed pending updates, failed delayed updates } (in a dry run, those that would fail)

  Run twice: the first run stores its result under the request's key (KEYS[5], a fresh id per call) and a
  re-run with the same key returns that stored result without touching anything, so the count an operator is
  shown is the number of updates this request failed. Without the stored result a re-run would still be
  harmless (the updates it failed no longer wait), only its count would be zero.
]]
local rcall = redis.call
local root, jobPrefix, outcomePrefix, account = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, message = tonumber(ARGV[5]), ARGV[6]
local dryRun = ARGV[7] == '1'
if not dryRun then
  local stored = rcall('GET', KEYS[5])
  if stored then return cjson.decode(stored) end
end
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local prefix = account .. '|'

local function fail(objKey, entry)
  local seq, ts, attempts, jobId = string.match(entry, '^(%d+):(%d+):(%d+):(.*)$')
  local data = rcall('HGET', jobPrefix .. jobId, 'data')
  local ok, d = pcall(cjson.decode, data or '')
  if not ok or type(d) ~= 'table' then d = {} end
  local trace = type(d.objectWriteTraceId) == 'string' and d.objectWriteTraceId
    or ((string.sub(jobId, 1, 2) == 't-') and string.sub(jobId, 3) or jobId)
  local objectType, idProperty, id = string.match(objKey, '^[^|]*|([^|]*)|([^|]*)|(.*)$')
  local outcome = {
    objectWriteTraceId = trace, status = 'failed', account = account, objectType = objectType, id = id,
    attempts = tonumber(attempts), enqueuedAt = tonumber(ts), finishedAt = now,
    error = { category = 'OPERATOR_FAILED', message = message },
    fp = string.sub(redis.sha1hex(data or ''), 1, 16),
  }
  if idProperty ~= '' then outcome.idProperty = idProperty end
  rcall('SET', outcomePrefix .. trace, cjson.encode(outcome), 'EX', ttl)
  rcall('HSET', jobPrefix .. jobId, 'seq', seq)
  rcall('EXPIRE', jobPrefix .. jobId, ttl)
  rcall('ZADD', KEYS[4], now, (string.gsub(trace, '|', '_')) .. '|OPERATOR_FAILED|' .. jobId)
end

local pending = 0
for _, group in ipairs(rcall('SMEMBERS', KEYS[1])) do
  if string.sub(group, 1, #prefix) == prefix then
    local zkey = root .. 'pending:' .. group
    for _, objKey in ipairs(rcall('ZRANGE', zkey, 0, -1)) do
      local listKey = root .. 'obj:' .. objKey
      for _, entry in ipairs(rcall('LRANGE', listKey, 0, -1)) do
        if not dryRun then fail(objKey, entry) end
        pending = pending + 1
      end
      if not dryRun then rcall('DEL', listKey) end
    end
    if not dryRun then
      rcall('DEL', zkey)
      rcall('SREM', KEYS[1], group)
    end
  end
end

local delayed = 0
for _, member in ipairs(rcall('ZRANGE', KEYS[2], 0, -1)) do
  if string.sub(member, 1, #prefix) == prefix then
    if not dryRun then
      local objKey, entry = string.match(member, '^(.*)\n(.*)$')
      fail(objKey, entry)
      rcall('ZREM', KEYS[2], member)
    end
    delayed = delayed + 1
  end
end

if dryRun then return { pending, delayed } end
if pending + delayed > 0 then
  -- Redis rejects '-0' as an integer, so only non-zero decrements are sent.
  if pending > 0 then rcall('HINCRBY', KEYS[3], 'pending', -pending) end
  if delayed > 0 then rcall('HINCRBY', KEYS[3], 'delayed', -delayed) end
  rcall('HINCRBY', KEYS[3], 'failed', pending + delayed)
  rcall('HINCRBY', KEYS[3], 'failed:OPERATOR_FAILED', pending + delayed)
end
rcall('SET', KEYS[5], cjson.encode({ pending, delayed }), 'EX', tonumber(ARGV[8]))
return { pending, delayed }

--[[
  Takes in what other clients put on the wait lists (this library's producer files its updates itself, see
  enqueue.lua; intake.lua says where an update goes): up to N jobs, the interactive wait list first (updates an
  earlier version of this producer put there), so they do not wait behind a backlog of BullMQ's wait list, then
  BullMQ's, each in enqueue order. While both hold jobs, the interactive list takes at most half of a call, so a
  flood of interactive updates cannot stop bulk work from being taken in.

  A job without a sequence number (another client's) takes the next number here, from the queue's one counter, so
  it orders updates as Redis saw them taken in (the fencing sequence), whatever their lane: an interactive update
  taken in before older bulk updates of its object still loses to none of them and wins over none of them wrongly.
  Jobs whose data cannot be routed go to the invalid list, where the worker fails them with a validation error. A
  job whose trace id already has an outcome is a repeated enqueue of a finished update: it is dropped.

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
Intake.begin(now)
local invalid, dups, urgentMoved = 0, 0, 0
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
        -- Anything but the interactive lane is bulk here; the worker's validation fails a bad value by name.
        local interactive = d.priority == 'interactive'
        Intake.take(jobId, Intake.route(d), interactive, seq, ts, not tonumber(fields[3]), {})
        if interactive then urgentMoved = urgentMoved + 1 end
      end
    end
  end
end
local moved = Intake.finish()
return { moved, invalid, dups, rcall('LLEN', KEYS[1]) + rcall('LLEN', KEYS[7]), urgentMoved }

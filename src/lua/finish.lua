--[[
  How an update ends, written in one place: the outcome record's shape, and the side effects of a terminal
  outcome. settle.lua, fail-account.lua and fail-invalid.lua end updates only through these functions.
  Needs the keys prelude (`K`).

  Outcome.record(f): the outcome record as stored under its trace id: format 1, a JSON array of fields by
  position that outcomes/record.ts reads: 1, '' (the key names the trace; a stream entry has the trace id here),
  status, account, objectType, id, attempts, enqueuedAt, finishedAt - enqueuedAt, hubspotObjectId, idProperty,
  priority, the error as an array (category, message, httpStatus), then the internal fields ingestedAt -
  enqueuedAt, fp, hist (a stream entry leaves them out); '' for an absent field, trailing ones left out.
  Outcome.forms(f): the record as stored, and as a stream entry carries it (the trace id second, no internal fields).
  With the queue's recordFormat key at `object`, both are the JSON object earlier versions wrote instead. f = { trace, status, account, objectType, id, idProperty
  ('' or nil), attempts, enqueuedAt, finishedAt (nil while retrying), hubspotObjectId, error = { category,
  message, httpStatus }, fp (fingerprint of the update's data), priority ('interactive' or nil for bulk),
  ingestedAt, hist (the batches it was in, for `explain`) }.

  Outcome.finish(jobId, f, seq, keepJob, ttl, known): records the outcome and ends the update. A failed update is filed in
  the dead-letter index; with `keepJob` its job stays (with its sequence, so a replay is fenced like the first
  write) for the outcome's lifetime, so it can be replayed; any other end drops the job. An update that set a
  unique value others wait for (`sets`, see ingest.lua and resolve.lua) has that value looked up again. `known`
  (optional) saves reads a caller already made: `known.sets`, the job's `sets` as read when it was claimed ('' for
  none); `known.delivered`, addresses (a set) whose waiting updates the caller delivers to their record itself
  (settle.lua's learn), which are then not queued for a lookup first.

  Outcome.flush(stats): adds what finish counted to the stats hash, one HINCRBY per status and failure category
  rather than one per update, and appends the outcomes finish recorded to the outcome stream as entries (field
  `o`, a JSON array of at most 500 records), which `subscribeOutcomes` and `waitForOutcomes` read. Housekeeping trims the
  stream to its retention.

  Run twice: SET, HSET, EXPIRE, DEL and ZADD leave the same state when repeated; a caller that may run twice
  guards the counters (each caller's header says how).
]]
local Outcome = {}
do
  local call = redis.call
  local counts = {}
  local finished = {}

  -- The record is a JSON array of fields by position (outcomes/record.ts reads it, both shapes), not an object:
  -- field names took half of every record, which is kept for OUTCOME_TTL_SECONDS, and again in the stream entry.
  -- Times after the enqueue are kept as offsets from it; absent fields are '' and trailing ones are left out.
  -- The internal fields come last, so the stream entry (for users) is the record without them.
  local function trim(o)
    while o[#o] == '' do o[#o] = nil end
  end

  -- The object records versions before format 1 wrote and read (`record-format object`, while producers of
  -- such a version still read the queue): the stream entry is the same record.
  local function objectForm(f)
    local o = {
      objectWriteTraceId = f.trace, status = f.status, account = f.account, objectType = f.objectType, id = f.id,
      attempts = f.attempts, enqueuedAt = f.enqueuedAt,
    }
    if f.idProperty and f.idProperty ~= '' then o.idProperty = f.idProperty end
    if f.finishedAt then o.finishedAt = f.finishedAt end
    if f.hubspotObjectId and f.hubspotObjectId ~= '' then o.hubspotObjectId = f.hubspotObjectId end
    if type(f.error) == 'table' then
      o.error = { category = f.error.category, message = f.error.message, httpStatus = f.error.httpStatus }
    end
    if f.priority == 'interactive' then o.priority = f.priority end
    if f.fp and f.fp ~= '' then o.fp = f.fp end
    if f.ingestedAt then o.ingestedAt = f.ingestedAt end
    if f.hist and f.hist ~= '' then o.hist = f.hist end
    local record = cjson.encode(o)
    return record, record
  end

  -- The record as stored under the trace id's key (which names the trace) and as the stream carries it. The
  -- queue's recordFormat key is read once per script run (a chunk's locals start afresh on every run).
  local objects
  function Outcome.forms(f)
    if objects == nil then objects = call('GET', K.recordFormat) == 'object' end
    if objects then return objectForm(f) end
    local at = tonumber(f.enqueuedAt) or 0
    local function after(t)
      t = tonumber(t)
      return t and t - at or ''
    end
    local e = ''
    if type(f.error) == 'table' then e = { f.error.category or '', f.error.message or '', f.error.httpStatus or '' } end
    local pub = { f.status, f.account or '', f.objectType or '', f.id or '', tonumber(f.attempts) or 0, at, after(f.finishedAt),
      f.hubspotObjectId or '', f.idProperty or '', f.priority == 'interactive' and 'interactive' or '', e }
    local fields = #pub
    trim(pub)
    -- One encode serves both forms: the stored one pads the trimmed fields back, so the internal ones that
    -- follow keep their positions.
    local body = string.sub(cjson.encode(pub), 2, -2)
    local streamed = '[1,' .. cjson.encode(f.trace) .. ',' .. body .. ']'
    local internal = { after(f.ingestedAt), f.fp or '', f.hist or '' }
    trim(internal)
    if #internal == 0 then return '[1,"",' .. body .. ']', streamed end
    return '[1,"",' .. body .. string.rep(',""', fields - #pub) .. ',' .. string.sub(cjson.encode(internal), 2),
      streamed
  end

  function Outcome.record(f)
    return (Outcome.forms(f))
  end

  local function bump(field)
    counts[field] = (counts[field] or 0) + 1
  end

  -- An update that set unique values (ingest's `sets`, one address key a line) no longer does: updates waiting
  -- for those values to name a record (resolve.lua) are looked up again, unless the settle that ends this update
  -- learns the value and moves them first.
  local function release(jobKey, jobId, known)
    local sets = known and known.sets
    if sets == nil then sets = call('HGET', jobKey, 'sets') end
    if not sets or sets == '' then return false end
    local delivered = known and known.delivered or {}
    for addrKey in string.gmatch(sets, '[^\n]+') do
      call('SREM', K.addressSetters(addrKey), jobId)
      local first = not delivered[addrKey] and call('LINDEX', K.unresolved(addrKey), 0)
      if first then
        local group = K.groupOfObject(addrKey)
        call('ZADD', K.unresolvedAddresses(group), 'NX', select(2, K.parseEntry(first)), addrKey)
        call('SADD', K.groups, group)
      end
    end
    return true
  end

  function Outcome.finish(jobId, f, seq, keepJob, ttl, known)
    local stored, streamed = Outcome.forms(f)
    call('SET', K.outcome(f.trace), stored, 'EX', ttl)
    finished[#finished + 1] = streamed
    bump(f.status)
    local jobKey = K.job(jobId)
    local released = release(jobKey, jobId, known)
    if f.status == 'failed' then
      local category = (type(f.error) == 'table' and f.error.category) or 'UNKNOWN'
      if keepJob then
        -- A kept job no longer sets anything (a replay is ingested, and indexed, afresh); a dropped one goes whole.
        if released then call('HDEL', jobKey, 'sets') end
        call('HSET', jobKey, 'seq', seq)
        call('EXPIRE', jobKey, ttl)
      else
        call('DEL', jobKey)
      end
      call('ZADD', K.failed, f.finishedAt, K.failedMember(f.trace, category, jobId))
      bump(K.failedStat(category))
    else
      call('DEL', jobKey)
    end
  end

  local ENTRY_OUTCOMES = 500

  function Outcome.flush(stats)
    for field, n in pairs(counts) do call('HINCRBY', stats, field, n) end
    counts = {}
    -- Entries of at most ENTRY_OUTCOMES outcomes: a consumer's handler and a waiter's read stay bounded even when
    -- one script ends a whole account's updates.
    for first = 1, #finished, ENTRY_OUTCOMES do
      local last = math.min(first + ENTRY_OUTCOMES - 1, #finished)
      call('XADD', K.outcomeStream, '*', 'o', '[' .. table.concat(finished, ',', first, last) .. ']')
    end
    finished = {}
  end
end

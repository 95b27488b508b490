--[[
  What a queued job's data says about where its update goes, read the same way by every script that takes jobs
  off the wait list (ingest.lua, fail-account-wait.lua). Needs nothing else.

  JobData.route(raw): the decoded data when it can be routed (an object type, an id, and account, idProperty and
  trace id, when given, usable as parts of a key: no `|`, `:` or white space), else nil. The account is the
  data's `account`, 'default' when it names none: JobData.account(d).

  JobData.read(jobId): the decoded data of a job the queue holds, {} when it is gone or unreadable (its outcome is
  still written, from what the entry and the key say), and the raw data. JobData.fingerprint(raw): the
  fingerprint outcomes carry (`fp`), by which a reused trace id is told from a repeat. JobData.trace(d, jobId): its trace id, from the data or,
  failing that, from the job id (`t-<traceId>`).
]]
local JobData = {}
do
  local function isName(v)
    return type(v) == 'string' and v ~= '' and not string.find(v, '[|:%s]')
  end

  function JobData.route(raw)
    if not raw then return nil end
    local ok, d = pcall(cjson.decode, raw)
    local routable = ok and type(d) == 'table' and isName(d.objectType) and type(d.id) == 'string' and d.id ~= ''
      and (d.account == nil or isName(d.account)) and (d.idProperty == nil or isName(d.idProperty))
      and (d.objectWriteTraceId == nil or isName(d.objectWriteTraceId))
    if routable then return d end
    return nil
  end

  function JobData.account(d)
    return d.account or 'default'
  end

  function JobData.read(jobId)
    local raw = redis.call('HGET', K.job(jobId), 'data') or ''
    local ok, d = pcall(cjson.decode, raw)
    if ok and type(d) == 'table' then return d, raw end
    return {}, raw
  end

  function JobData.fingerprint(raw)
    return string.sub(redis.sha1hex(raw or ''), 1, 16)
  end

  function JobData.trace(d, jobId)
    return type(d.objectWriteTraceId) == 'string' and d.objectWriteTraceId or K.traceOfJobId(jobId)
  end
end

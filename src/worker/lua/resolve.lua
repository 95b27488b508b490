--[[
  Moves the updates waiting for an address (a unique property's value) to the record HubSpot said it names, or
  fails them when HubSpot knows no such record. What the worker read with one batch/read call lands here at once.

  Found: the mapping value -> record id is cached (addresses.lua); the address's updates join the record's list in
  sequence order, and the record is made claimable (in both lanes, lanes.lua) unless it is in flight. Fencing and merging then work per
  record, however each update addressed it.
  Not found: each update fails with OBJECT_NOT_FOUND (its job kept for replay, like every failed update), or with
  the error given (HubSpot refused to look the value up at all, e.g. the property is not unique). Unless an
  update queued earlier sets the value on a record (`setby:`, e.g. a contact's email changed to it): then the
  address's updates wait, out of the lookups, until that update ends; its end has the value looked up again, or
  its settle learns the value and moves them to the record (finish.lua, settle.lua).

  KEYS[1] groups set
  KEYS[2] inflight hash
  KEYS[3] stats hash
  KEYS[4] unresolved-addresses zset of the group

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] group
  ARGV[4] seconds a mapping is kept
  ARGV[5] outcome TTL seconds
  ARGV[6] max attempts: reads silent about an address (below) before its updates fail
  ARGV[7..] triples: address key, record id ('' when HubSpot knows no record with that value), the error to fail
            its updates with as JSON { category, message } ('' for OBJECT_NOT_FOUND), or '?' when the read's
            answer said nothing about the value: its updates stay waiting and count the read (`silentReads` in
            their job); once they counted max attempts such reads they fail UNEXPECTED_RESPONSE

  Run twice: an address whose updates were moved or failed by the first run has an empty list and is no longer
  in the zset; the second run only caches its mapping again; an address left waiting for a setter is left waiting
  again. Counters move only with updates this run moved. A silent read counted twice by a repeated run brings
  its updates' failure one read earlier at worst.

  Returns: { updates moved to their record, updates failed }
]]
local rcall = redis.call
local group, mapTtl, ttl, maxAttempts = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local account, objectType = K.parseGroup(group)
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

-- Whether a queued update that sets the value on its record is still on its way (ingest indexes such updates
-- under the value, `setby:`): HubSpot does not know the value yet, but will once that update lands. An update
-- counts while its job has not ended (`sets` is dropped when it does) and its own record is known or still being
-- looked up; one waiting on an address that itself waits for a setter does not count, so no two addresses wait
-- for each other.
local function awaitsSetter(addrKey)
  local setters = K.addressSetters(addrKey)
  for _, jobId in ipairs(rcall('SMEMBERS', setters)) do
    local job = rcall('HMGET', K.job(jobId), 'data', 'sets')
    local ok, d = pcall(cjson.decode, job[1] or '')
    if not job[2] or not ok or type(d) ~= 'table' then
      rcall('SREM', setters, jobId)
    elseif d.idProperty == nil then
      return true
    else
      local own = K.addressKey(group, d.idProperty, d.id)
      if rcall('EXISTS', K.address(own)) == 1 or rcall('ZSCORE', KEYS[4], own) then return true end
    end
  end
  return false
end

local moved, failed = 0, 0
local missing = {}
local silent = {}
-- What was found first: a setter addressed by a value found in the same read then counts as known.
for i = 7, #ARGV, 3 do
  local addrKey, recordId = ARGV[i], ARGV[i + 1]
  if ARGV[i + 2] == '?' then
    silent[#silent + 1] = addrKey
  elseif recordId ~= '' then
    local _, _, idProperty, value = K.parseObjectKey(addrKey)
    Addresses.remember(group, idProperty, value, recordId, mapTtl)
    moved = moved + Addresses.deliver(group, addrKey, recordId, KEYS[1], KEYS[2])
  else
    missing[#missing + 1] = i
  end
end
for _, i in ipairs(missing) do
  local addrKey, given = ARGV[i], ARGV[i + 2]
  local listKey = K.unresolved(addrKey)
  -- Not found yet, but an update queued before these sets the value: they wait for it, out of the lookups, and
  -- are looked up again (or moved, when its settle learns the value) once it ends (finish.lua).
  local waits = given == '' and rcall('LLEN', listKey) > 0 and awaitsSetter(addrKey)
  if not waits then
    local _, _, idProperty, value = K.parseObjectKey(addrKey)
    for _, entry in ipairs(rcall('LRANGE', listKey, 0, -1)) do
      local seq, ts, attempts, jobId, interactive = K.parseEntry(entry)
      local d, data = JobData.read(jobId)
      local id = type(d.id) == 'string' and d.id or value
      local err = given ~= '' and cjson.decode(given)
        or { category = 'OBJECT_NOT_FOUND', message = 'no ' .. objectType .. ' record has ' .. idProperty .. ' ' .. id }
      Outcome.finish(jobId, {
        trace = JobData.trace(d, jobId),
        status = 'failed', account = account, objectType = objectType, id = id, idProperty = idProperty,
        attempts = attempts, enqueuedAt = ts, finishedAt = now, error = err,
        fp = JobData.fingerprint(data), priority = interactive and 'interactive' or nil,
      }, seq, true, ttl)
      failed = failed + 1
    end
    rcall('DEL', listKey)
  end
  rcall('ZREM', KEYS[4], addrKey)
end
-- Read again later (the address stays in the lookups); an update that waited through max attempts of such reads
-- fails, as a write whose answers kept saying nothing about it does.
for _, addrKey in ipairs(silent) do
  local listKey = K.unresolved(addrKey)
  local _, _, idProperty, value = K.parseObjectKey(addrKey)
  for _, entry in ipairs(rcall('LRANGE', listKey, 0, -1)) do
    local seq, ts, attempts, jobId, interactive = K.parseEntry(entry)
    local reads = rcall('HINCRBY', K.job(jobId), 'silentReads', 1)
    if reads >= maxAttempts then
      local d, data = JobData.read(jobId)
      local id = type(d.id) == 'string' and d.id or value
      Outcome.finish(jobId, {
        trace = JobData.trace(d, jobId),
        status = 'failed', account = account, objectType = objectType, id = id, idProperty = idProperty,
        attempts = attempts, enqueuedAt = ts, finishedAt = now,
        error = { category = 'UNEXPECTED_RESPONSE', message = 'gave up after ' .. reads .. ' batch/read answers that '
          .. 'neither found nor named ' .. idProperty .. ' ' .. id },
        fp = JobData.fingerprint(data), priority = interactive and 'interactive' or nil,
      }, seq, true, ttl)
      rcall('LREM', listKey, 1, entry)
      failed = failed + 1
    end
  end
  if rcall('LLEN', listKey) == 0 then rcall('ZREM', KEYS[4], addrKey) end
end
Outcome.flush(KEYS[3])
if failed > 0 then rcall('HINCRBY', KEYS[3], 'pending', -failed) end
return { moved, failed }

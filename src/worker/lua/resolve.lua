--[[
  Moves the updates waiting for an address (a unique property's value) to the record HubSpot said it names, or
  fails them when HubSpot knows no such record. What the worker read with one batch/read call lands here at once.

  Found: the mapping value -> record id is cached (addresses.lua); the address's updates join the record's list in
  sequence order, and the record is made claimable (in both lanes, lanes.lua) unless it is in flight. Fencing and merging then work per
  record, however each update addressed it.
  Not found: each update fails with OBJECT_NOT_FOUND (its job kept for replay, like every failed update), or with
  the error given (HubSpot refused to look the value up at all, e.g. the property is not unique).

  KEYS[1] groups set
  KEYS[2] inflight hash
  KEYS[3] stats hash
  KEYS[4] unresolved-addresses zset of the group

  ARGV[1] key root, ARGV[2] job key prefix (the keys prelude, `K`)
  ARGV[3] group
  ARGV[4] seconds a mapping is kept
  ARGV[5] outcome TTL seconds
  ARGV[6..] triples: address key, record id ('' when HubSpot knows no record with that value), the error to fail
            its updates with as JSON { category, message } ('' for OBJECT_NOT_FOUND)

  Run twice: an address whose updates were moved or failed by the first run has an empty list and is no longer
  in the zset; the second run only caches its mapping again. Counters move only with updates this run moved.

  Returns: { updates moved to their record, updates failed }
]]
local rcall = redis.call
local group, mapTtl, ttl = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local account, objectType = string.match(group, '^([^|]*)|(.*)$')
local t = rcall('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

-- Lists stay in sequence order (entries.lua): updates that waited for their address are older than some already there.
local insertInOrder = Entries.insert

local moved, failed = 0, 0
for i = 6, #ARGV, 3 do
  local addrKey, recordId, given = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local listKey = K.unresolved(addrKey)
  local entries = rcall('LRANGE', listKey, 0, -1)
  if recordId ~= '' then
    local _, _, idProperty, value = K.parseObjectKey(addrKey)
    Addresses.remember(group, idProperty, value, recordId, mapTtl)
    if #entries > 0 then
      local objKey = K.objectKey(group, '', recordId)
      local objList = K.objectUpdates(objKey)
      for _, entry in ipairs(entries) do insertInOrder(objList, entry) end
      rcall('PERSIST', K.landed(objKey))
      if rcall('HEXISTS', KEYS[2], objKey) == 0 and Lanes.claimable(group, objKey) then
        rcall('SADD', KEYS[1], group)
      end
      moved = moved + #entries
    end
  else
    local _, _, idProperty, value = K.parseObjectKey(addrKey)
    for _, entry in ipairs(entries) do
      local seq, ts, attempts, jobId, interactive = K.parseEntry(entry)
      local data = rcall('HGET', K.job(jobId), 'data')
      local ok, d = pcall(cjson.decode, data or '')
      if not ok or type(d) ~= 'table' then d = {} end
      local id = type(d.id) == 'string' and d.id or value
      local err = given ~= '' and cjson.decode(given)
        or { category = 'OBJECT_NOT_FOUND', message = 'no ' .. objectType .. ' record has ' .. idProperty .. ' ' .. id }
      Outcome.finish(jobId, {
        trace = type(d.objectWriteTraceId) == 'string' and d.objectWriteTraceId or K.traceOfJobId(jobId),
        status = 'failed', account = account, objectType = objectType, id = id, idProperty = idProperty,
        attempts = attempts, enqueuedAt = ts, finishedAt = now, error = err,
        fp = string.sub(redis.sha1hex(data or ''), 1, 16), priority = interactive and 'interactive' or nil,
      }, seq, true, ttl)
      failed = failed + 1
    end
  end
  rcall('DEL', listKey)
  rcall('ZREM', KEYS[4], addrKey)
end
Outcome.flush(KEYS[3])
if failed > 0 then rcall('HINCRBY', KEYS[3], 'pending', -failed) end
return { moved, failed }

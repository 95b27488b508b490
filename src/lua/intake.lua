--[[
  Where an update goes once the queue takes it in, written once for both ways in: enqueue.lua files this
  library's producer's updates at once, in the call that enqueues them; ingest.lua takes in what other clients put
  on BullMQ's wait list. Needs the keys prelude (`K`), job-data.lua, lanes.lua and entries.lua.

  Each update becomes an entry `seq:enqueuedAt:attempts:jobId` in its object's list, kept in sequence order
  (entries.lua). An update with `"priority": "interactive"` gets the lane mark in its entry (see keys.ts). Objects
  are records: an update addressed by a unique property's value (`idProperty`) goes to the record the value is
  known to name, or, while none is known, waits in the value's unresolved list until resolve.lua finds its record.
  An update that sets a unique value (a contact's email, or a new value of the property it is addressed by) is
  indexed under that value's address (`setby:`, and `sets` in its job): a batch/read that does not find the value
  yet, because this update has not landed, then leaves the updates addressed by it waiting (resolve.lua).

  Intake.begin(now): starts a run (`now`, Redis's time in ms, becomes each job's `ingestedAt`).
  Intake.route(d): where a routable job's update goes (`d` its decoded data, JobData.route): { group, objKey ('' when
  addressed by a unique value), addrKey (that value's address, or ''), sets (the addresses of the unique values it
  sets, one per line, or '') }. The producer works the same out itself (producer/route.ts), so enqueue.lua decodes
  nothing.
  Intake.take(jobId, r, interactive, seq, ts, fresh, fields): takes one job in by its route `r`: `seq` its fencing
  sequence, `ts` its enqueue time, `fresh` true when `seq` was just given from the queue's counter (it is then the
  newest of every entry: appended; otherwise put in its place, and its object's fence made to outlive it, as an
  update numbered earlier may be older than what landed since), `fields` the job hash's fields to write with
  `ingestedAt` and `sets` in the one HSET this makes.
  Intake.finish(): makes every object the run gave updates claimable in its group's pending zset (scored by its
  oldest update's enqueue time) and, for an interactive update, in the group's interactive zset too (lanes.lua),
  unless it is in flight; one HMGET of the in-flight marks (in chunks: unpack's stack is bounded) and one ZADD per
  group and lane, rather than an HEXISTS and a ZADD per update. Adds the groups to the groups set and the updates
  to the `pending` count. Returns how many were taken in.

  Run twice: not idempotent (an entry would be listed twice); ingest.lua moves jobs it pops, and enqueue.lua keeps
  its answer under its request id, so neither takes a job in twice.
]]
local Intake = {}
do
  local call = redis.call
  local now, groupsSeen, touched, touchedList, moved

  function Intake.begin(at)
    now, groupsSeen, touched, touchedList, moved = at, {}, {}, {}, 0
  end

  local function seeGroup(group)
    if not groupsSeen[group] then
      call('SADD', K.groups, group)
      groupsSeen[group] = true
    end
  end

  function Intake.route(d)
    local group = K.group(JobData.account(d), d.objectType)
    local own = d.idProperty and K.addressKey(group, d.idProperty, d.id)
    local sets = {}
    local function index(property)
      local value = type(d.properties) == 'table' and d.properties[property]
      if type(value) ~= 'string' or value == '' or string.find(value, '%s') then return end
      local addrKey = K.addressKey(group, property, value)
      if addrKey ~= own then sets[#sets + 1] = addrKey end
    end
    if d.objectType == 'contacts' then index('email') end
    if d.idProperty and not (d.objectType == 'contacts' and d.idProperty == 'email') then index(d.idProperty) end
    return {
      group = group, objKey = own and '' or K.objectKey(group, '', d.id), addrKey = own or '',
      sets = table.concat(sets, '\n'),
    }
  end

  function Intake.take(jobId, r, interactive, seq, ts, fresh, fields)
    local group = r.group
    fields[#fields + 1] = 'ingestedAt'
    fields[#fields + 1] = now
    if r.sets ~= '' then
      for addrKey in string.gmatch(r.sets, '[^\n]+') do call('SADD', K.addressSetters(addrKey), jobId) end
      fields[#fields + 1] = 'sets'
      fields[#fields + 1] = r.sets
    end
    call('HSET', K.job(jobId), unpack(fields))
    local entry = K.entry(seq, ts, 0, jobId, interactive)
    local function list(listKey)
      if fresh then call('RPUSH', listKey, entry) else Entries.insert(listKey, entry) end
    end
    local objKey = r.objKey ~= '' and r.objKey or nil
    if objKey == nil then
      -- Addressed by a unique property's value: its record, when the value is known to name one.
      local recordId = call('GET', K.address(r.addrKey))
      if recordId then
        objKey = K.objectKey(group, '', recordId)
      else
        list(K.unresolved(r.addrKey))
        call('ZADD', K.unresolvedAddresses(group), 'LT', ts, r.addrKey)
        seeGroup(group)
      end
    end
    if objKey then
      list(K.objectUpdates(objKey))
      if not fresh then call('PERSIST', K.landed(objKey)) end
      -- Scored by the oldest update of the object this run saw and by its oldest interactive one (Lanes.addAll
      -- keeps an older score already there).
      local o = touched[objKey]
      if not o then
        o = { objKey, group, ts, nil }
        touched[objKey] = o
        touchedList[#touchedList + 1] = o
      end
      if ts < o[3] then o[3] = ts end
      if interactive and (not o[4] or ts < o[4]) then o[4] = ts end
    end
    moved = moved + 1
  end

  local CHUNK = 1000

  function Intake.finish()
    local byGroup, groupOrder = {}, {}
    for from = 1, #touchedList, CHUNK do
      local keys = {}
      for i = from, math.min(#touchedList, from + CHUNK - 1) do keys[#keys + 1] = touchedList[i][1] end
      local marks = call('HMGET', K.inflight, unpack(keys))
      for j = 1, #keys do
        if not marks[j] then
          local o = touchedList[from + j - 1]
          local group = o[2]
          if not byGroup[group] then
            byGroup[group] = {}
            groupOrder[#groupOrder + 1] = group
          end
          local list = byGroup[group]
          list[#list + 1] = { o[1], o[3], o[4] }
        end
      end
    end
    for _, group in ipairs(groupOrder) do
      Lanes.addAll(group, byGroup[group])
      seeGroup(group)
    end
    if moved > 0 then call('HINCRBY', K.stats, 'pending', moved) end
    return moved
  end
end

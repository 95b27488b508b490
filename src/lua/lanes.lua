--[[
  The two lanes of a group's claimable objects, kept in one place. Every claimable object is in its group's
  pending zset, scored by its oldest update's enqueue time; one that also has interactive updates (entries with
  the `i` lane mark) is in the group's interactive zset too, scored by its oldest interactive update's enqueue
  time. claim.lua takes the interactive zset's objects first, then fills the batch from the pending zset, so an
  object is always one object in one batch, whichever lanes its updates came in. Needs the keys prelude (`K`).

  Lanes.add(group, objKey, ts, interactive): one new update of an object that is not in flight (ingest): the
  object is made claimable, and marked interactive when the update is.
  Lanes.claimable(group, objKey): makes an object that is not in flight claimable from what its list holds (after
  a settle, a retry, a hold or a resolution); false when its list is empty. It reads the whole list, which holds
  what arrived for one object while it was in flight or backing off: short, bar a hot object under a backlog.

  Run twice: ZADD NX and LT leave the same state when repeated.
]]
local Lanes = {}
do
  local call = redis.call

  function Lanes.add(group, objKey, ts, interactive)
    -- LT: an update ingested after a newer one of its object (the interactive wait list is read first) may be
    -- the older; the score stays the oldest enqueue time.
    call('ZADD', K.pending(group), 'LT', ts, objKey)
    if interactive then call('ZADD', K.interactive(group), 'LT', ts, objKey) end
  end

  function Lanes.claimable(group, objKey)
    local entries = call('LRANGE', K.objectUpdates(objKey), 0, -1)
    if #entries == 0 then return false end
    local _, ts = K.parseEntry(entries[1])
    call('ZADD', K.pending(group), 'NX', ts, objKey)
    -- Lists are in sequence order: the first interactive entry is the object's oldest interactive update.
    for _, entry in ipairs(entries) do
      if K.isInteractiveEntry(entry) then
        local _, its = K.parseEntry(entry)
        call('ZADD', K.interactive(group), 'NX', its, objKey)
        break
      end
    end
    return true
  end
end

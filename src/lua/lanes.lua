--[[
  The two lanes of a group's claimable objects, kept in one place. Every claimable object is in its group's
  pending zset, scored by its oldest update's enqueue time; one that also has interactive updates (entries with
  the `i` lane mark) is in the group's interactive zset too, scored by its oldest interactive update's enqueue
  time. claim.lua takes the interactive zset's objects first, then fills the batch from the pending zset, so an
  object is always one object in one batch, whichever lanes its updates came in. Needs the keys prelude (`K`).

  Lanes.addAll(group, objects): objects of one group, not in flight, that got new updates (ingest's run), each
  `{ objKey, ts, interactiveTs }`: each is made claimable, scored by `ts` (its oldest new update), and marked
  interactive, scored by `interactiveTs`, when it has one (nil when none of its new updates is interactive); one
  ZADD LT per zset (an object already claimable keeps its score unless the new one is older).
  Lanes.claimable(group, objKey): makes an object that is not in flight claimable from what its list holds (after
  a settle, a retry, a hold or a resolution); false when its list is empty. It reads the whole list, which holds
  what arrived for one object while it was in flight or backing off: short, bar a hot object under a backlog.

  Run twice: ZADD LT leaves the same state when repeated.
]]
local Lanes = {}
do
  local call = redis.call

  -- ZADD's arguments are passed with unpack, whose stack is bounded: at most this many members per call.
  local CHUNK = 1000

  -- LT: an object already claimable keeps its score unless this one is older (the interactive wait list is read
  -- first, so an update ingested after a newer one of its object may be the older); a new one is added.
  local function zaddOldest(key, args)
    for from = 1, #args, 2 * CHUNK do
      call('ZADD', key, 'LT', unpack(args, from, math.min(#args, from + 2 * CHUNK - 1)))
    end
  end

  function Lanes.addAll(group, objects)
    local bulk, urgent = {}, {}
    for _, o in ipairs(objects) do
      bulk[#bulk + 1] = o[2]
      bulk[#bulk + 1] = o[1]
      if o[3] then
        urgent[#urgent + 1] = o[3]
        urgent[#urgent + 1] = o[1]
      end
    end
    if #bulk > 0 then zaddOldest(K.pending(group), bulk) end
    if #urgent > 0 then zaddOldest(K.interactive(group), urgent) end
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

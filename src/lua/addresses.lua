--[[
  The cache of which record a unique property's value names, kept in one place: `address` maps the value to the
  record id, `addressOf` the record back to its value, so a value that moves to another record, or a record whose
  value changes, never leaves a mapping that sends updates to the wrong record. Needs the keys prelude (`K`) and
  lanes.lua.

  Addresses.remember(group, idProperty, value, recordId, ttl): the value (normalized as K.addressKey does) names
  the record; the record's previous value, if another, no longer does. An empty value only forgets the previous.
  Both mappings are kept `ttl` seconds from now. The reverse mapping is set with SET ... GET, which answers its
  previous value; a mapping already current (the record's value is this one and the value names the record: the
  steady state of a record updated again) then costs one GETEX more, which reads the forward mapping and renews
  its TTL; a new one, one SET more.
  Addresses.forget(addrKey, recordId): drops the mapping if it still names that record (HubSpot refuted it).
  Addresses.deliver(group, addrKey, recordId, groupsKey, inflightKey): the updates waiting for the address join
  the record's list in sequence order, and the record is made claimable unless it is in flight; the address no
  longer waits for resolution. Returns how many moved.

  Run twice: all leave the same mappings when repeated; a second deliver finds the address's list empty.
]]
local Addresses = {}
do
  local call = redis.call

  function Addresses.remember(group, idProperty, value, recordId, ttl)
    local reverse = K.addressOf(K.objectKey(group, idProperty, recordId))
    local addrKey = K.addressKey(group, idProperty, value)
    local normalized = select(4, K.parseObjectKey(addrKey))
    -- The reverse mapping is written (or dropped) in the command that reads its previous value.
    local before
    if value == '' then
      before = call('GETDEL', reverse)
    else
      before = call('SET', reverse, normalized, 'EX', ttl, 'GET')
    end
    if before and before ~= normalized then
      local old = K.address(K.addressKey(group, idProperty, before))
      if call('GET', old) == recordId then call('DEL', old) end
    end
    if value == '' then return end
    -- GETEX renews the TTL as it reads: when the mapping is current that is all there is to write.
    if before == normalized and call('GETEX', K.address(addrKey), 'EX', ttl) == recordId then return end
    call('SET', K.address(addrKey), recordId, 'EX', ttl)
  end

  function Addresses.forget(addrKey, recordId)
    local mapped = K.address(addrKey)
    if call('GET', mapped) == recordId then call('DEL', mapped) end
  end

  function Addresses.deliver(group, addrKey, recordId, groupsKey, inflightKey)
    local listKey = K.unresolved(addrKey)
    local entries = call('LRANGE', listKey, 0, -1)
    if #entries > 0 then
      local objKey = K.objectKey(group, '', recordId)
      local objList = K.objectUpdates(objKey)
      for _, entry in ipairs(entries) do Entries.insert(objList, entry) end
      call('PERSIST', K.landed(objKey))
      if call('HEXISTS', inflightKey, objKey) == 0 and Lanes.claimable(group, objKey) then
        call('SADD', groupsKey, group)
      end
      call('DEL', listKey)
    end
    call('ZREM', K.unresolvedAddresses(group), addrKey)
    return #entries
  end
end

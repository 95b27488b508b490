--[[
  The cache of which record a unique property's value names, kept in one place: `address` maps the value to the
  record id, `addressOf` the record back to its value, so a value that moves to another record, or a record whose
  value changes, never leaves a mapping that sends updates to the wrong record. Needs the keys prelude (`K`).

  Addresses.remember(group, idProperty, value, recordId, ttl): the value (normalized as K.addressKey does) names
  the record; the record's previous value, if another, no longer does. An empty value only forgets the previous.
  Addresses.forget(addrKey, recordId): drops the mapping if it still names that record (HubSpot refuted it).

  Run twice: both leave the same mappings when repeated.
]]
local Addresses = {}
do
  local call = redis.call

  function Addresses.remember(group, idProperty, value, recordId, ttl)
    local reverse = K.addressOf(K.objectKey(group, idProperty, recordId))
    local addrKey = K.addressKey(group, idProperty, value)
    local normalized = select(4, K.parseObjectKey(addrKey))
    local before = call('GET', reverse)
    if before and before ~= normalized then
      local old = K.address(K.addressKey(group, idProperty, before))
      if call('GET', old) == recordId then call('DEL', old) end
    end
    if value == '' then
      call('DEL', reverse)
      return
    end
    call('SET', K.address(addrKey), recordId, 'EX', ttl)
    call('SET', reverse, normalized, 'EX', ttl)
  end

  function Addresses.forget(addrKey, recordId)
    local mapped = K.address(addrKey)
    if call('GET', mapped) == recordId then call('DEL', mapped) end
  end
end

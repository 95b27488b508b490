--[[
  An object's list of pending updates (`obj:<objectKey>`) is kept in sequence order: merging reads it oldest
  first, and the fence compares sequences. Needs the keys prelude `K`.

  EntryList.insert(listKey, entry): puts `entry` before the first entry with a higher sequence (a retried or
  resolved update is older than some already there), else at the end.
]]
local EntryList = {}
do
  function EntryList.insert(listKey, entry)
    local seq = K.parseEntry(entry)
    for _, item in ipairs(redis.call('LRANGE', listKey, 0, -1)) do
      if K.parseEntry(item) > seq then
        redis.call('LINSERT', listKey, 'BEFORE', item, entry)
        return
      end
    end
    redis.call('RPUSH', listKey, entry)
  end
end

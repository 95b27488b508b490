--[[
  Deletes a key only while it holds the given value. Releases a lock only when this replica still holds it (work
  that outlived the lock's TTL must not delete the lock a newer holder took: the token refresh lock, a group's
  resolution lock), and drops a shared token refused as expired only while it is that token (not the newer one a
  refresh stored meanwhile).

  KEYS[1] lock key, or shared token key

  ARGV[1] owner id the lock was taken with, or the sealed token that was read

  Run twice: the second run finds the key deleted (or holding another value) and leaves it.

  Returns: 1 when the key was deleted, 0 when it holds another value or is gone.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0

--[[
  Releases the token refresh lock only when this replica still holds it: a refresh that outlived the lock's
  TTL must not delete the lock a newer holder took.

  KEYS[1] lock key

  ARGV[1] owner id the lock was taken with

  Run twice: the second run finds the lock released (or another owner's) and leaves it.

  Returns: 1 when the lock was released, 0 when another owner holds it or it expired.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0

--[[
  Records a queue's shard count if none is recorded, and answers the one recorded before (shards.ts,
  `claimShardCount`). A script rather than SET NX GET, which Redis before 7.0 does not take.

  KEYS[1] the shard-count key (in shard 0)
  ARGV[1] this process's shard count
  ARGV[2] '1' to only read (admin tools record nothing)

  Run twice: the first run records, the second reads what it recorded, the same count.

  Returns: the count recorded before this call, or nil when none was.
]]
local recorded = redis.call('GET', KEYS[1])
if recorded then return recorded end
if ARGV[2] ~= '1' then redis.call('SET', KEYS[1], ARGV[1]) end
return false

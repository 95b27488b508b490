--[[
  Which shard of a queue holds an account, as shards.ts computes it (`shardOfAccount`): FNV-1a over the name's
  bytes, modulo the shard count. Needs nothing else.

  Shards.of(account, count): 0..count-1.

  Lua numbers are doubles, exact below 2^53: the 32-bit product is taken in two parts (the prime is 2^24 + 403)
  so no intermediate value loses a bit; bit.bxor answers signed, so it is brought back to 0..2^32-1.
]]
local Shards = {}
do
  local TWO32 = 4294967296
  function Shards.of(account, count)
    if count <= 1 then return 0 end
    local h = 2166136261
    for i = 1, #account do
      h = bit.bxor(h, string.byte(account, i))
      if h < 0 then h = h + TWO32 end
      h = (h * 403 + (h % 256) * 16777216) % TWO32
    end
    return h % count
  end
end

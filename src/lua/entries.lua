--[[
  Keeps an object's (or an address's) list of pending entries in sequence order, whoever adds to it. Claims take an
  object's first entries (at most 200) and lanes.lua reads its oldest ones from the head, so the head must hold the
  oldest updates. Sequence numbers are given at enqueue by this producer and at ingest for other clients' jobs, and
  ingest reads the interactive wait list first: an entry can arrive older than some already in the list (a bulk
  update ingested after a newer interactive one of its object), as can a retry or an update handed back. Needs the
  keys prelude (`K`).

  Entries.insert(listKey, entry): puts one entry in its place. The usual case (newer than the list's last entry)
  is one LINDEX and one RPUSH; otherwise the list is read from the tail, a chunk at a time, to the first older entry.
  Entries.putBack(listKey, entries): puts entries taken from the head of the list (a batch's, in sequence order)
  back, sorted; when all are older than the list's first entry (the usual case) they go back at the head.

  Run twice: not idempotent (an entry would be listed twice); callers run it once per entry they move, in scripts
  whose re-runs find nothing left to move.
]]
local Entries = {}
do
  local call = redis.call
  local CHUNK = 64

  local function seqOf(entry) return (K.parseEntry(entry)) end

  function Entries.insert(listKey, entry)
    local seq = seqOf(entry)
    local last = call('LINDEX', listKey, -1)
    if not last or seqOf(last) < seq then
      call('RPUSH', listKey, entry)
      return
    end
    local len = call('LLEN', listKey)
    -- From the tail towards the head: the first entry older than this one is the one to follow.
    local stop = len - 1
    while stop >= 0 do
      local start = math.max(0, stop - CHUNK + 1)
      local items = call('LRANGE', listKey, start, stop)
      for j = #items, 1, -1 do
        if seqOf(items[j]) < seq then
          call('LINSERT', listKey, 'AFTER', items[j], entry)
          return
        end
      end
      stop = start - 1
    end
    call('LPUSH', listKey, entry)
  end

  function Entries.putBack(listKey, entries)
    if #entries == 0 then return end
    local sorted = {}
    for i, entry in ipairs(entries) do sorted[i] = { seqOf(entry), entry } end
    table.sort(sorted, function(x, y) return x[1] < y[1] end)
    local first = call('LINDEX', listKey, 0)
    if not first or sorted[#sorted][1] < seqOf(first) then
      for i = #sorted, 1, -1 do call('LPUSH', listKey, sorted[i][2]) end
      return
    end
    for _, s in ipairs(sorted) do Entries.insert(listKey, s[2]) end
  end
end

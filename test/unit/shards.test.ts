import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueueStatus } from '../../src/admin/status.js';
import { mergeStatuses } from '../../src/admin/status-merge.js';
import { queueKeys } from '../../src/keys.js';
import { crossShardConflicts } from '../../src/producer/trace-ids.js';
import {
  CLUSTER_SLOTS,
  keySlot,
  MAX_QUEUE_SHARDS,
  partitionByShard,
  shardOfAccount,
  shardQueueNames,
} from '../../src/shards.js';
import { parseUpdate, type Update } from '../../src/update.js';

// ioredis's own slot function: what the cluster client routes by.
const clusterKeySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

describe('keySlot', () => {
  it("is Redis Cluster's CRC16 slot, hash tags included", () => {
    // Redis's documented check value: CRC16/XMODEM("123456789") = 0x31C3.
    expect(keySlot('123456789')).toBe(0x31c3);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    // As a cluster node's CLUSTER KEYSLOT answers: an empty tag hashes the whole key, an unclosed one too.
    expect(keySlot('foo{}{bar}')).toBe(8363);
    expect(keySlot('{a')).toBe(10276);
    expect(keySlot('x{bar}y')).toBe(keySlot('bar'));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 8 }), (key, tag) => {
        // ioredis's slot function differs from Redis only for an empty tag followed by another (`{}{x}`).
        const plain = key.replace(/[{}]/g, '');
        expect(keySlot(plain)).toBe(clusterKeySlot(plain));
        const tagged = `${plain}{${tag.replace(/[{}]/g, '')}x}`;
        expect(keySlot(tagged)).toBe(clusterKeySlot(tagged));
      }),
    );
  });
});

describe('shardQueueNames', () => {
  it('keeps the queue itself as shard 0, so one shard is the queue as it was', () => {
    expect(shardQueueNames('orders', 1)).toEqual(['orders']);
    expect(shardQueueNames('orders', 5)[0]).toBe('orders');
  });

  it("puts each shard's slot in its own 1/n of the slot space", () => {
    for (const n of [2, 3, 6, 12, 64, MAX_QUEUE_SHARDS]) {
      const names = shardQueueNames('hubspot-updates', n);
      expect(new Set(names).size).toBe(n);
      const ranges = names.map((name) => Math.floor((keySlot(queueKeys(name).wait) * n) / CLUSTER_SLOTS));
      expect(new Set(ranges).size).toBe(n);
      // Every key of a shard is in one slot: the shard's hash tag.
      for (const name of names) {
        const keys = queueKeys(name);
        expect(keySlot(keys.wait)).toBe(keySlot(keys.outcome('x')));
        expect(keySlot(keys.jobPrefix + 'job')).toBe(keySlot(keys.rate('a').log));
        expect(name).not.toMatch(/[{}|]/);
      }
    }
  });

  it('refuses a count outside 1..MAX_QUEUE_SHARDS', () => {
    for (const n of [0, -1, 1.5, MAX_QUEUE_SHARDS + 1]) {
      expect(() => shardQueueNames('q', n)).toThrow(/shards must be an integer from 1/);
    }
  });
});

describe('shardOfAccount', () => {
  it('is 0 with one shard, stable, and in range', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: MAX_QUEUE_SHARDS }), (a, n) => {
        const s = shardOfAccount(a, n);
        expect(s).toBe(shardOfAccount(a, n));
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(n);
        expect(shardOfAccount(a, 1)).toBe(0);
      }),
    );
  });

  it('spreads 300 portal-like account names over 12 shards', () => {
    const counts = Array.from({ length: 12 }, () => 0);
    for (let i = 0; i < 300; i++)
      counts[shardOfAccount(`portal-${i}`, 12)] = (counts[shardOfAccount(`portal-${i}`, 12)] ?? 0) + 1;
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...counts)).toBeLessThanOrEqual(45);
  });
});

describe('partitionByShard', () => {
  it('keeps every index once, in order within a shard', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7 })), (shards) => {
        const parts = partitionByShard(shards, (s) => s);
        expect(parts.flat().sort((a, b) => a - b)).toEqual(shards.map((_, i) => i));
        parts.forEach((indexes, shard) => {
          expect([...indexes].sort((a, b) => a - b)).toEqual(indexes);
          for (const i of indexes) expect(shards[i]).toBe(shard);
        });
      }),
    );
  });
});

function update(trace: string, account: string): Update {
  const r = parseUpdate({
    objectType: 'contacts',
    id: '1',
    properties: { a: 'b' },
    objectWriteTraceId: trace,
    account,
  });
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.update;
}

describe('crossShardConflicts', () => {
  it('names the later of two updates of different shards that share a trace id', () => {
    const updates = [update('t1', 'a'), update('t2', 'b'), update('t1', 'c'), update('t2', 'b')];
    const conflicts = crossShardConflicts(updates, [[0, 1, 3], [2]]);
    expect(conflicts).toEqual([{ index: 2, objectWriteTraceId: 't1', usedBy: 0 }]);
    expect(crossShardConflicts(updates, [[0, 1, 2, 3]])).toEqual([]);
  });
});

function status(over: Partial<QueueStatus>): QueueStatus {
  return {
    queue: 'q',
    at: 1000,
    depth: { waiting: 1, pending: 2, inflight: 3, delayed: 4, invalid: 5 },
    oldestWaitingAgeMs: null,
    stranded: { delayed: 0, prioritized: 1, waitingChildren: 0, paused: 0, total: 1 },
    accounts: [],
    outcomes: { succeeded: 10, failed: 1, superseded: 2 },
    failedByCategory: { OBJECT_NOT_FOUND: 1 },
    recordFormat: 'compact',
    workers: { alive: 1, ids: ['w1'], stale: 0 },
    ...over,
  };
}

describe('mergeStatuses', () => {
  it('sums depths and counters, keeps the oldest age, counts a worker once', () => {
    const account = (name: string) => ({
      account: name,
      paused: false,
      grantsInWindow: 0,
      effectiveMax: 100,
      dailyCount: 0,
    });
    const merged = mergeStatuses(
      [
        status({ accounts: [account('x')], oldestWaitingAgeMs: 50 }),
        status({
          queue: 'q~1',
          at: 1200,
          accounts: [account('y')],
          oldestWaitingAgeMs: 700,
          failedByCategory: { OBJECT_NOT_FOUND: 2, VALIDATION_ERROR: 1 },
          workers: { alive: 2, ids: ['w1', 'w2'], stale: 1 },
        }),
      ],
      ['y', 'x'],
    );
    expect(merged.queue).toBe('q');
    expect(merged.shards).toEqual(['q', 'q~1']);
    expect(merged.at).toBe(1200);
    expect(merged.depth).toEqual({ waiting: 2, pending: 4, inflight: 6, delayed: 8, invalid: 10 });
    expect(merged.oldestWaitingAgeMs).toBe(700);
    expect(merged.stranded.total).toBe(2);
    expect(merged.outcomes).toEqual({ succeeded: 20, failed: 2, superseded: 4 });
    expect(merged.failedByCategory).toEqual({ OBJECT_NOT_FOUND: 3, VALIDATION_ERROR: 1 });
    expect(merged.workers).toEqual({ alive: 2, ids: ['w1', 'w2'], stale: 1 });
    expect(merged.recordFormat).toBe('compact');
    const formats = (a: 'compact' | 'object', b: 'compact' | 'object') =>
      mergeStatuses([status({ recordFormat: a }), status({ queue: 'q~1', recordFormat: b })]).recordFormat;
    expect(formats('object', 'object')).toBe('object');
    expect(formats('object', 'compact')).toBe('mixed');
    expect(formats('compact', 'object')).toBe('mixed');
    expect(merged.accounts.map((a) => a.account)).toEqual(['y', 'x']);
  });
});

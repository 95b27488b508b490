import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createQueueAdmin } from '../../src/admin/queue-admin.js';
import { queueKeys } from '../../src/keys.js';
import type { Outcome } from '../../src/outcomes/outcome.js';
import { createProducer } from '../../src/producer/producer.js';
import { TraceIdConflictError } from '../../src/producer/trace-ids.js';
import { shardOfAccount, shardQueueNames } from '../../src/shards.js';
import type { UpdateRequest } from '../../src/update.js';
import { startLocalCluster } from '../helpers/cluster.js';
import { boundedWaits, testAdmin, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';
import { onCleanup, redisUrl, testRedis, track, uniqueQueueName } from '../helpers/resources.js';

/** Commands a master executed since its stats were reset, the cluster's own bookkeeping left out. */
async function commandsOf(port: number): Promise<number> {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  try {
    const info = await r.info('commandstats');
    let calls = 0;
    for (const line of info.split('\n')) {
      const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
      if (m && !/^(cluster|info|config|command|ping|hello|client|select|readonly)/.test(m[1] ?? '')) {
        calls += Number(m[2]);
      }
    }
    return calls;
  } finally {
    r.disconnect();
  }
}

async function resetStats(port: number): Promise<void> {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  try {
    await r.config('RESETSTAT');
  } finally {
    r.disconnect();
  }
}

function portalUpdates(accounts: number, objectsPerAccount: number): UpdateRequest[] {
  const updates: UpdateRequest[] = [];
  for (const round of ['first', 'last']) {
    for (let a = 0; a < accounts; a++) {
      for (let o = 0; o < objectsPerAccount; o++) {
        updates.push({
          account: `portal-${a}`,
          objectType: 'contacts',
          id: String(1000 + o),
          properties: { firstname: `${round}-${a}-${o}`, ...(round === 'last' ? { city: `c${a}` } : {}) },
        });
      }
    }
  }
  return updates;
}

describe('queue shards', () => {
  it('spreads 300 accounts over the masters of a 3-master cluster: each runs 20-47% of the commands, every update ends truthfully', async () => {
    const cluster = await startLocalCluster();
    const sim = await testSimulator();
    const accounts = 300;
    const shards = 6;
    const queueName = uniqueQueueName('shards');
    const tokens: Record<string, { token: string }> = {};
    for (let a = 0; a < accounts; a++) {
      tokens[`portal-${a}`] = { token: `tok-${a}` };
      sim.createObjects(`tok-${a}`, 'contacts', [
        { id: '1000', properties: {} },
        { id: '1001', properties: {} },
      ]);
    }
    for (const port of cluster.ports) await resetStats(port);
    const producer = boundedWaits(createProducer({ redis: cluster.url, queueName, shards }));
    const closed = track('cluster producer');
    onCleanup(async () => {
      await producer.close();
      closed();
    });
    const updates = portalUpdates(accounts, 2);
    const results = await producer.enqueueMany(updates);
    await testWorker(queueName, sim, { redisUrl: cluster.url, shards, accounts: tokens });
    const outcomes = await producer.waitForOutcomes(
      results.map((r) => r.objectWriteTraceId),
      { timeoutMs: 90_000 },
    );
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    // Truthful: the second update of each object succeeded, and HubSpot holds its values (nothing stale).
    const last = outcomes.slice(updates.length / 2);
    expect(last.every((o) => o.status === 'succeeded')).toBe(true);
    for (let a = 0; a < accounts; a++) {
      for (let o = 0; o < 2; o++) {
        expect(sim.getObject(`tok-${a}`, 'contacts', String(1000 + o))?.properties).toMatchObject({
          firstname: `last-${a}-${o}`,
          city: `c${a}`,
        });
      }
    }
    const perMaster = await Promise.all(cluster.ports.map(commandsOf));
    const total = perMaster.reduce((a, b) => a + b, 0);
    const shares = perMaster.map((n) => n / total);
    console.log(
      `per-master share of ${total} commands: ${shares.map((s) => `${(s * 100).toFixed(1)}%`).join(', ')}`,
    );
    for (const share of shares) {
      expect(share).toBeGreaterThanOrEqual(0.2);
      expect(share).toBeLessThanOrEqual(0.47);
    }
    // Status reads every shard: one worker, every outcome counted once.
    const admin = createQueueAdmin({ redis: cluster.url, queueName, shards });
    try {
      const status = await admin.status();
      expect(status.queue).toBe(queueName);
      expect(status.workers.alive).toBe(1);
      expect(status.depth).toEqual({ waiting: 0, pending: 0, inflight: 0, delayed: 0, invalid: 0 });
      expect(status.outcomes.succeeded + status.outcomes.superseded).toBe(updates.length);
      expect(status.outcomes.failed).toBe(0);
    } finally {
      await admin.close();
    }
  });

  it('keeps each account in its own shard on one Redis; reads, waits, streams and admin span the shards', async () => {
    const shards = 4;
    const queueName = testQueue('shards', shards);
    const sim = await testSimulator();
    const names = shardQueueNames(queueName, shards);
    const accounts = ['north', 'south', 'east', 'west', 'centre', 'harbour'];
    const tokens = Object.fromEntries(accounts.map((a) => [a, { token: `tok-${a}` }]));
    for (const a of accounts) sim.createObjects(`tok-${a}`, 'contacts', [{ id: '1', properties: {} }]);
    // More than one shard is used by these accounts, so the test says something.
    expect(new Set(accounts.map((a) => shardOfAccount(a, shards))).size).toBeGreaterThan(1);
    const producer = boundedWaits(createProducer({ redis: redisUrl(), queueName, shards }));
    const closed = track('sharded producer');
    onCleanup(async () => {
      await producer.close();
      closed();
    });
    const delivered: Outcome[] = [];
    const subscription = producer.subscribeOutcomes({
      group: 'g',
      startAt: 'oldest',
      handler: (o) => void delivered.push(...o),
    });
    onCleanup(() => subscription.close());

    // A trace id given to two accounts of different shards in one call is refused, and nothing is enqueued.
    const x = accounts[0];
    const y = accounts.find((a) => shardOfAccount(a, shards) !== shardOfAccount(x ?? '', shards));
    const clash = (account: string | undefined): UpdateRequest => ({
      account: account ?? 'north',
      objectType: 'contacts',
      id: '1',
      properties: { firstname: 'clash' },
      objectWriteTraceId: 'same-trace',
    });
    await expect(producer.enqueueMany([clash(x), clash(y)])).rejects.toBeInstanceOf(TraceIdConflictError);
    expect(await producer.getOutcome('same-trace')).toBeNull();

    const results = await producer.enqueueMany(
      accounts.map((account) => ({
        account,
        objectType: 'contacts',
        id: '1',
        properties: { firstname: account },
      })),
    );
    // Each account's update waits in its own shard and in no other.
    const redis = testRedis();
    for (const [shard, name] of names.entries()) {
      const home = accounts.filter((a) => shardOfAccount(a, shards) === shard).length;
      expect(await redis.hget(queueKeys(name).stats, 'pending')).toBe(home > 0 ? String(home) : null);
    }
    const admin = testAdmin(queueName, {
      shards,
      accounts: Object.fromEntries(accounts.map((a) => [a, { maxRequests: 100, windowMs: 10_000 }])),
    });
    expect((await admin.status()).depth.pending).toBe(accounts.length);
    // fail-account reaches the account's own shard.
    const failed = await admin.failAccount('harbour');
    expect(failed.failed).toBe(1);

    await testWorker(queueName, sim, { shards, accounts: tokens });
    const ids = results.map((r) => r.objectWriteTraceId);
    const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 30_000 });
    expect(outcomes.map((o) => [o.account, o.status])).toEqual(
      accounts.map((a) => [a, a === 'harbour' ? 'failed' : 'succeeded']),
    );
    for (const a of accounts.filter((a) => a !== 'harbour')) {
      expect(sim.getObject(`tok-${a}`, 'contacts', '1')?.properties).toMatchObject({ firstname: a });
    }
    const story = await producer.explain(ids[1] ?? '');
    expect(story.seen).toBe(true);
    const status = await admin.status();
    expect(status.workers.alive).toBe(1);
    expect(status.outcomes).toMatchObject({ succeeded: accounts.length - 1, failed: 1 });
    expect((await admin.listFailed()).map((o) => o.account)).toEqual(['harbour']);
    // The subscription got every outcome, from every shard's stream.
    await expect
      .poll(() => new Set(delivered.map((o) => o.objectWriteTraceId)).size, { timeout: 10_000 })
      .toBe(accounts.length);
  });
});

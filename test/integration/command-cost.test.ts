/**
 * What an update costs Redis, counted with MONITOR on a Redis of the test's own (so every command is this test's):
 * a producer's call of one shard is one script call and no reads beside it; a drain's scripts do not read what
 * the claim already read (the addresses a job sets), take an object's updates with one LPOP, and write an address
 * mapping with SET ... GET. The counts are exact properties of the scripts, not timings.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { createProducer } from '../../src/producer/producer.js';
import { boundedWaits, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';
import { privateRedis } from '../helpers/private-redis.js';
import { onCleanup } from '../helpers/resources.js';

interface Seen {
  args: string[];
  /** True for a command a script ran. */
  lua: boolean;
}

/** Every command the server runs from now until `stop()`, which waits for the monitor to have seen them all. */
async function monitor(url: string): Promise<{ seen: Seen[]; stop(): Promise<void> }> {
  const client = new Redis(url);
  const m = await client.monitor();
  const seen: Seen[] = [];
  const marker = `end-of-monitoring-${process.pid}-${Date.now()}`;
  let sawMarker: () => void = () => {};
  const markerSeen = new Promise<void>((resolve) => {
    sawMarker = resolve;
  });
  m.on('monitor', (_time: string, args: string[], source: string) => {
    if (args[1] === marker) sawMarker();
    else seen.push({ args, lua: source === 'lua' });
  });
  let stopped = false;
  const close = () => {
    m.disconnect();
    client.disconnect();
  };
  onCleanup(() => {
    if (!stopped) close();
  });
  return {
    seen,
    async stop() {
      if (stopped) return;
      stopped = true;
      // MONITOR's feed lags the commands: an ECHO sent after them all marks its end.
      await client.echo(marker);
      await markerSeen;
      close();
    },
  };
}

const updates = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    objectType: 'contacts',
    id: String(5000 + from + i),
    objectWriteTraceId: `cost-${from + i}`,
    properties: { firstname: `F${i}`, email: `person${from + i}@example.com` },
  }));

describe('Redis commands per update', () => {
  it('enqueues a call of one shard with one script call and no reads beside it', async () => {
    const redis = await privateRedis();
    const queue = testQueue('cost-enqueue');
    const producer = boundedWaits(createProducer({ redis: redis.url, queueName: queue }));
    onCleanup(() => producer.close());
    // The shard count is checked once per producer: done before counting.
    await producer.enqueueMany(updates(1, 900));
    const { seen, stop } = await monitor(redis.url);
    const results = await producer.enqueueMany(updates(200));
    // A repeat of the same updates is answered as duplicates by the script alone as well.
    const again = await producer.enqueueMany(updates(200));
    await stop();
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect(again.every((r) => r.duplicate)).toBe(true);
    const topLevel = seen.filter((s) => !s.lua).map((s) => (s.args[0] ?? '').toLowerCase());
    expect(topLevel.filter((c) => c !== 'evalsha' && c !== 'eval')).toEqual([]);
    expect(topLevel.length).toBe(2);
  });

  it('a drain reads no job twice for its addresses, pops with LPOP and writes a mapping with SET ... GET', async () => {
    const redis = await privateRedis();
    const queue = testQueue('cost-drain');
    const sim = await testSimulator({ autoCreate: true });
    const producer = boundedWaits(createProducer({ redis: redis.url, queueName: queue }));
    onCleanup(() => producer.close());
    const batch = updates(150);
    await producer.enqueueMany(batch);
    const { seen, stop } = await monitor(redis.url);
    await testWorker(queue, sim, { redisUrl: redis.url });
    // Polled with a plain HGET (a top-level command, not counted): a producer's wait would run scripts of its own.
    const check = new Redis(redis.url);
    onCleanup(() => void check.disconnect());
    const stats = queueKeys(queue).stats;
    await waitFor(async () => Number(await check.hget(stats, 'succeeded')) >= batch.length, {
      what: 'the drain',
    });
    await stop();
    const outcomes = await producer.waitForOutcomes(batch.map((u) => u.objectWriteTraceId));
    expect(outcomes.map((o) => o.status)).toEqual(batch.map(() => 'succeeded'));
    // Each contact's email now names its record, both ways (addresses.lua).
    const mapped = await check.keys('*person1@example.com*');
    expect(mapped.length).toBeGreaterThan(0);

    const inLua = seen.filter((s) => s.lua).map((s) => s.args.map(String));
    const named = (name: string) => inLua.filter((a) => (a[0] ?? '').toLowerCase() === name);
    // The claim read `sets` with the job; settle does not read it again.
    expect(named('hget').filter((a) => a[2] === 'sets')).toEqual([]);
    expect(named('ltrim')).toEqual([]);
    expect(named('lpop').length).toBeGreaterThan(0);
    const setGet = named('set').filter((a) => (a.at(-1) ?? '').toLowerCase() === 'get');
    expect(setGet.length).toBe(batch.length);
    // Every command a script ran, per update, the worker's start-up included: 25.5 for this workload (contacts
    // that set their email) when settle read `sets` again, claims used LRANGE and LTRIM and a new mapping took a
    // GETEX and two SETs; 22.5 without.
    expect(inLua.length / batch.length).toBeLessThan(23.5);
  });
});

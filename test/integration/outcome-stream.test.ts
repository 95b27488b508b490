/**
 * The outcome stream against real Redis and the simulator: consumer groups get every terminal outcome at least
 * once and an acknowledged one never again, a dead consumer's entries are taken over or resumed, the CLI's
 * `outcomes --follow` survives a SIGKILL, and `waitForOutcomes` misses nothing across lost replies, cut
 * connections and a Redis restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import type { Outcome } from '../../src/outcomes/outcome.js';
import { parseOutcomeEntry } from '../../src/outcomes/stream.js';
import {
  OutcomeEntryDroppedError,
  type OutcomeSubscription,
  type SubscribeOptions,
} from '../../src/outcomes/subscribe.js';
import { createProducer, type Producer } from '../../src/producer/producer.js';
import type { Simulator } from '../../src/simulator/index.js';
import {
  boundedWaits,
  CLI,
  TOKEN,
  testAdmin,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { privateRedis } from '../helpers/private-redis.js';
import { type RedisProxy, startRedisProxy } from '../helpers/redis-proxy.js';
import { pendingTimers } from '../helpers/resource-origins.js';
import { onCleanup, redisUrl, track } from '../helpers/resources.js';

const TERMINAL = new Set(['succeeded', 'failed', 'superseded']);

function seededUpdates(sim: Simulator, n: number, tag: string) {
  sim.createObjects(
    TOKEN,
    'contacts',
    Array.from({ length: n }, (_, i) => ({ id: String(10_000 + i), properties: {} })),
  );
  return Array.from({ length: n }, (_, i) => ({
    objectType: 'contacts',
    id: String(10_000 + i),
    properties: { firstname: `${tag}-${i}` },
  }));
}

/** A producer of `queue` whose connection goes through a fault proxy (closed after the test), and the proxy. */
async function proxiedProducer(queue: string): Promise<{ proxy: RedisProxy; waiter: Producer }> {
  const proxy = await startRedisProxy();
  const waiter = boundedWaits(createProducer({ redis: proxy.url, queueName: queue }));
  const done = track('proxied producer');
  onCleanup(async () => {
    await waiter.close();
    done();
  });
  return { proxy, waiter };
}

/** A subscription closed after the test; collects what it was given. */
function collect(
  producer: Producer,
  options: Omit<SubscribeOptions, 'handler'> & { handler?: SubscribeOptions['handler'] },
): { seen: Outcome[]; subscription: OutcomeSubscription } {
  const seen: Outcome[] = [];
  const subscription = producer.subscribeOutcomes({
    ...options,
    handler:
      options.handler ??
      ((outcomes) => {
        seen.push(...outcomes);
      }),
  });
  const done = track('outcome subscription');
  onCleanup(async () => {
    await subscription.close();
    done();
  });
  return { seen, subscription };
}

/** Waits until the stream has `n` consumer groups (so a group starting at new outcomes loses none). */
async function groupsExist(redis: Redis, stream: string, n: number, what: string): Promise<void> {
  await waitFor(
    async () => ((await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[]).length === n,
    { what },
  );
}

/**
 * Enqueues one update, starts `waitForOutcomes` on a proxied producer whose read matching `match` (the update's
 * trace id, or a command name) is held on the wire after `skip` such reads, lets a worker settle it, and asserts the
 * wait resolved `succeeded` from the stream while that read is still held (well before the wait's deadline).
 */
async function waitWithReadHeld(tag: string, match: 'trace id' | 'xrange', skip: number) {
  const sim = await testSimulator();
  const queue = testQueue(`stream-wait-${tag}`);
  const direct = testProducer(queue);
  const { proxy, waiter } = await proxiedProducer(queue);
  const [id = ''] = ids(await direct.enqueueMany(seededUpdates(sim, 1, tag)));
  const hold = proxy.hold(match === 'trace id' ? id : match, skip);
  onCleanup(() => hold.release());
  const since = Date.now();
  const timeoutMs = 15_000;
  const waiting = waiter.waitForOutcomes([id], { timeoutMs });
  await hold.held;
  await testWorker(queue, sim, { batchLingerMs: 0 });
  const [outcome] = await waiting;
  expect(outcome?.status).toBe('succeeded');
  // Not by waiting out the held read until the deadline: a wait whose deadline ends the held read also returns
  // every outcome it has in hand, but only then.
  expect(Date.now()).toBeLessThan(since + timeoutMs - 1000);
  return { proxy, waiter, since };
}

/** Timers created by the outcome wait since `since` that are still pending. */
const waitTimersSince = (since: number) => pendingTimers(since).filter((t) => t.includes('outcomes/wait'));

const ids = (outcomes: ReadonlyArray<{ objectWriteTraceId: string }>) =>
  outcomes.map((o) => o.objectWriteTraceId);
const duplicatesOf = (list: string[]) => list.filter((id, i) => list.indexOf(id) !== i);

describe('outcome stream', () => {
  it('every group gets every terminal outcome; the consumers of a group share them; an acknowledged entry is never given again', async () => {
    const sim = await testSimulator();
    const queue = testQueue('stream-groups');
    const producer = testProducer(queue);
    const a1 = collect(producer, { group: 'a', consumer: 'a1' });
    const a2 = collect(producer, { group: 'a', consumer: 'a2' });
    const b = collect(producer, { group: 'b' });
    const redis = new Redis(redisUrl());
    onCleanup(() => redis.disconnect());
    const keys = queueKeys(queue);
    // The groups exist before anything settles, so `new` loses nothing.
    await groupsExist(redis, keys.outcomeStream, 2, 'both consumer groups');
    await testWorker(queue, sim);
    const enqueued = ids(await producer.enqueueMany(seededUpdates(sim, 300, 'v1')));

    const groupA = () => [...ids(a1.seen), ...ids(a2.seen)];
    await waitFor(() => groupA().length >= 300 && b.seen.length >= 300, {
      what: '300 outcomes in each group',
    });
    expect(new Set(groupA())).toEqual(new Set(enqueued));
    expect(duplicatesOf(groupA()), 'outcomes group a was given twice').toEqual([]);
    expect(new Set(ids(b.seen))).toEqual(new Set(enqueued));
    expect(b.seen.every((o) => TERMINAL.has(o.status))).toBe(true);
    await waitFor(async () => ((await redis.xpending(keys.outcomeStream, 'a')) as [number])[0] === 0, {
      what: 'group a to have acknowledged everything',
    });

    // A new consumer of group a gets what settles from now on, not what the group acknowledged.
    await a1.subscription.close();
    await a2.subscription.close();
    const a3 = collect(producer, { group: 'a', consumer: 'a3' });
    const [late] = await producer.enqueueMany([
      { objectType: 'contacts', id: '10000', properties: { lastname: 'late' } },
    ]);
    await waitFor(() => a3.seen.length >= 1, { what: 'the late outcome' });
    expect(ids(a3.seen)).toEqual([late?.objectWriteTraceId]);
  });

  it("a handler that throws gets its entry again; a dead consumer's pending entries go to another after claimIdleMs", async () => {
    const sim = await testSimulator();
    const queue = testQueue('stream-claim');
    const producer = testProducer(queue);
    let failures = 0;
    // This consumer takes entries and never acknowledges one: a consumer that dies while handling.
    const dying = collect(producer, {
      group: 'g',
      consumer: 'dying',
      retryMs: 50,
      handler: () => {
        failures++;
        throw new Error('handler failed');
      },
      onError: () => {},
    });
    const redis = new Redis(redisUrl());
    onCleanup(() => redis.disconnect());
    const keys = queueKeys(queue);
    await groupsExist(redis, keys.outcomeStream, 1, 'the group');
    await testWorker(queue, sim);
    const enqueued = ids(await producer.enqueueMany(seededUpdates(sim, 50, 'v1')));
    await waitFor(() => failures >= 2, { what: 'the handler to fail and be given the entry again' });
    await dying.subscription.close();

    const heir = collect(producer, { group: 'g', consumer: 'heir', claimIdleMs: 300 });
    await waitFor(() => new Set(ids(heir.seen)).size >= 50, { what: 'the heir to take every outcome over' });
    expect(new Set(ids(heir.seen))).toEqual(new Set(enqueued));
    await waitFor(async () => ((await redis.xpending(keys.outcomeStream, 'g')) as [number])[0] === 0, {
      what: 'nothing left pending',
    });
  });

  it('with maxFailures, an entry its handler always refuses is given up and said so; the entries after it are delivered', async () => {
    const sim = await testSimulator();
    const queue = testQueue('stream-poison');
    const producer = testProducer(queue);
    const poison = seededUpdates(sim, 1, 'poison');
    const dropped: OutcomeEntryDroppedError[] = [];
    const seen: Outcome[] = [];
    let poisonTrace = '';
    const sub = collect(producer, {
      group: 'g',
      retryMs: 20,
      maxFailures: 3,
      handler: (outcomes) => {
        if (outcomes.some((o) => o.objectWriteTraceId === poisonTrace)) throw new Error('cannot take it');
        seen.push(...outcomes);
      },
      onError: (err) => {
        if (err instanceof OutcomeEntryDroppedError) dropped.push(err);
      },
    });
    const redis = new Redis(redisUrl());
    onCleanup(() => redis.disconnect());
    const keys = queueKeys(queue);
    await groupsExist(redis, keys.outcomeStream, 1, 'the group');
    await testWorker(queue, sim);
    poisonTrace = ids(await producer.enqueueMany(poison))[0] ?? '';
    await producer.waitForOutcomes([poisonTrace]);
    const [after] = await producer.enqueueMany([
      { objectType: 'contacts', id: '10000', properties: { lastname: 'x' } },
    ]);
    await waitFor(() => seen.some((o) => o.objectWriteTraceId === after?.objectWriteTraceId), {
      what: 'the entry after the refused one',
    });
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.failures).toBe(3);
    expect(dropped[0]?.outcomes.map((o) => o.objectWriteTraceId)).toEqual([poisonTrace]);
    await sub.subscription.close();
    expect(((await redis.xpending(keys.outcomeStream, 'g')) as [number])[0]).toBe(0);
  });

  it('outcomes --follow: 2,000 outcomes to a group of two CLI consumers, one SIGKILLed and restarted; all delivered, none twice after acknowledgement', async () => {
    const sim = await testSimulator({ latencyMs: { min: 5, max: 30 } });
    const queue = testQueue('stream-cli');
    const producer = testProducer(queue);
    const keys = queueKeys(queue);
    const redis = new Redis(redisUrl());
    onCleanup(() => redis.disconnect());
    const follower = (consumer: string) => cliFollower(queue, consumer);
    const c1 = follower('c1');
    let c2 = follower('c2');
    await groupsExist(redis, keys.outcomeStream, 1, 'the cli group');
    await testWorker(queue, sim, { batchLingerMs: 5 });
    const enqueued = ids(await producer.enqueueMany(seededUpdates(sim, 2_000, 'v1')));

    await waitFor(() => c2.lines().length >= 100, { what: 'c2 to print some outcomes' });
    c2.child.kill('SIGKILL');
    await once(c2.child, 'exit');
    // What c2 had been given and not acknowledged when it died: the only outcomes that may be printed twice.
    const pending = (await redis.xpending(keys.outcomeStream, 'cli', '-', '+', 10_000, 'c2')) as Array<
      [string, string, number, number]
    >;
    const unacked = new Set<string>();
    for (const [entryId] of pending) {
      const [entry] = (await redis.xrange(keys.outcomeStream, entryId, entryId)) as Array<[string, string[]]>;
      for (const o of parseOutcomeEntry(entry ?? ['', []]).outcomes) unacked.add(o.objectWriteTraceId);
    }
    const before = c2.lines();
    c2 = follower('c2');

    const printed = () =>
      [...c1.lines(), ...before, ...c2.lines()].map((l) => (JSON.parse(l) as Outcome).objectWriteTraceId);
    await waitFor(() => new Set(printed()).size >= 2_000, {
      timeoutMs: 60_000,
      what: 'every outcome printed',
    });
    expect(new Set(printed())).toEqual(new Set(enqueued));
    const twice = duplicatesOf(printed());
    expect(
      twice.filter((id) => !unacked.has(id)),
      'acknowledged outcomes printed twice',
    ).toEqual([]);
    await waitFor(async () => ((await redis.xpending(keys.outcomeStream, 'cli')) as [number])[0] === 0, {
      what: 'the group to acknowledge everything',
    });
  });

  it('a script that ends many updates at once (fail-account of 1,200) writes stream entries of at most 500 outcomes', async () => {
    const queue = testQueue('stream-chunks');
    const producer = testProducer(queue);
    const updates = Array.from({ length: 1_200 }, (_, i) => ({
      account: 'gone',
      objectType: 'contacts',
      id: String(50_000 + i),
      properties: { firstname: `n${i}` },
    }));
    const enqueued = ids(await producer.enqueueMany(updates));
    expect(await testAdmin(queue).failAccount('gone')).toMatchObject({ failed: 1_200 });
    const redis = new Redis(redisUrl());
    onCleanup(() => redis.disconnect());
    const entries = (await redis.xrange(queueKeys(queue).outcomeStream, '-', '+')) as Array<
      [string, string[]]
    >;
    const sizes = entries.map(([, fields]) => (JSON.parse(fields[1] ?? '[]') as unknown[]).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(500);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1_200);
    const outcomes = await producer.waitForOutcomes(enqueued, { timeoutMs: 10_000 });
    expect(outcomes.every((o) => o.status === 'failed')).toBe(true);
  });

  it('waitForOutcomes misses nothing while its connection loses replies and is cut', async () => {
    const sim = await testSimulator({ latencyMs: { min: 5, max: 30 } });
    const queue = testQueue('stream-wait-cut');
    const direct = testProducer(queue);
    const { proxy, waiter } = await proxiedProducer(queue);
    onCleanup(() => proxy.stopBlips());
    await testWorker(queue, sim, { batchLingerMs: 20 });
    const enqueued = ids(await direct.enqueueMany(seededUpdates(sim, 500, 'v1')));
    proxy.startBlips({ minMs: 100, maxMs: 300 });
    const outcomes = await waiter.waitForOutcomes(enqueued, { timeoutMs: 45_000 });
    proxy.stopBlips();
    expect(proxy.blips).toBeGreaterThan(0);
    expect(ids(outcomes)).toEqual(enqueued);
    expect(outcomes.every((o) => TERMINAL.has(o.status))).toBe(true);
  });

  it('waitForOutcomes keeps a terminal outcome the stream delivered while an older record read was on the wire', async () => {
    const sim = await testSimulator();
    const queue = testQueue('stream-wait-race');
    const direct = testProducer(queue);
    const { proxy, waiter } = await proxiedProducer(queue);
    const [id = ''] = ids(await direct.enqueueMany(seededUpdates(sim, 1, 'race')));
    // Only the waiter's record reads carry the trace id: the first passes, the periodic re-read is held while the
    // update is still queued, so its answer says `queued`.
    const hold = proxy.hold(id, 1);
    const waiting = waiter.waitForOutcomes([id], { timeoutMs: 30_000 });
    await hold.held;
    await testWorker(queue, sim, { batchLingerMs: 0 });
    await waitFor(async () => (await direct.getOutcomes([id]))[0]?.status === 'succeeded', {
      what: 'the update settled',
    });
    // The follower reads the stream on its own connection; give its blocked read a moment to deliver.
    await new Promise((r) => setTimeout(r, 500));
    hold.release();
    const [outcome] = await waiting;
    expect(outcome?.status).toBe('succeeded');
  });

  it('waitForOutcomes that returns while a re-read is still on the wire leaves no timer running', async () => {
    const { proxy, since } = await waitWithReadHeld('timer', 'trace id', 1);
    expect(proxy.heldReplies).toBeGreaterThan(0);
    await new Promise((r) => setImmediate(r));
    // The wait's deadline must not outlive the wait: a script that awaited it could not exit until then.
    expect(waitTimersSince(since)).toEqual([]);
  });

  it('waitForOutcomes that returned does not retry its catch-up read when that read fails afterwards', async () => {
    const { waiter, since } = await waitWithReadHeld('retry', 'xrange', 0);
    // Closing the producer fails the held read; the ended wait must neither sleep to retry it nor send it again.
    await waiter.close();
    await new Promise((r) => setTimeout(r, 400));
    expect(waitTimersSince(since)).toEqual([]);
  });

  for (const [what, match, skip] of [
    ['periodic re-read of the records', 'trace id', 1],
    ['catch-up read of the stream', 'xrange', 0],
  ] as const) {
    // Held for the whole wait: before the fix, the waiter waited for this read and timed out with every outcome
    // in hand.
    it(`waitForOutcomes resolves once the stream delivered every outcome, while its ${what} never answers`, async () => {
      await waitWithReadHeld('stuck', match, skip);
    });
  }

  it('waitForOutcomes started before a Redis restart resolves with the outcomes settled after it', async () => {
    const sim = await testSimulator();
    const redis = await privateRedis();
    const queue = `stream-restart-${process.pid}`;
    const producer = boundedWaits(createProducer({ redis: redis.url, queueName: queue }));
    const done = track('producer on the private redis');
    onCleanup(async () => {
      await producer.close();
      done();
    });
    const enqueued = ids(await producer.enqueueMany(seededUpdates(sim, 200, 'v1')));
    // The waiter subscribes while nothing is settled, then Redis restarts, then a worker drains.
    const waiting = producer.waitForOutcomes(enqueued, { timeoutMs: 45_000 });
    await redis.restart({ downMs: 300 });
    await testWorker(queue, sim, { redisUrl: redis.url });
    const outcomes = await waiting;
    expect(ids(outcomes)).toEqual(enqueued);
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
  });
});

/** `outcomes --follow --group cli --consumer <name>` in its own process; killed after the test. */
function cliFollower(queue: string, consumer: string): { child: ChildProcess; lines(): string[] } {
  const child = spawn(
    process.execPath,
    [CLI, 'outcomes', '--follow', '--group', 'cli', '--consumer', consumer],
    {
      env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl(), QUEUE_NAME: queue },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', () => {});
  const done = track(`outcomes --follow ${consumer}`);
  const exited = once(child, 'exit');
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    done();
  });
  // Only whole lines: a SIGKILL can cut the last one.
  return {
    child,
    lines: () =>
      out
        .split('\n')
        .slice(0, -1)
        .filter((l) => l.startsWith('{')),
  };
}

/**
 * Edges of `subscribeOutcomes` against real Redis and the simulator: a subscription closed while its handler
 * works still acknowledges the entry the handler finished (its docs: "stops it after the entry in hand"), and a
 * subscription whose stream and group vanished (a Redis restarted without its data, an emptied database) makes
 * its group again and goes on delivering instead of failing every read with NOGROUP.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import type { Outcome } from '../../src/outcomes/outcome.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';
import { onCleanup, redisUrl, track } from '../helpers/resources.js';

const groupsOf = async (redis: Redis, stream: string) =>
  ((await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[]).length;

describe('outcome subscription edges', () => {
  it('close() while the handler works: the entry the handler finished is acknowledged, not given again', async () => {
    const sim = await testSimulator();
    const queue = testQueue('sub-close-ack');
    const producer = testProducer(queue);
    const keys = queueKeys(queue);
    const redis = new Redis(redisUrl());
    onCleanup(() => redis.disconnect());

    let entered: () => void = () => {};
    const inHandler = new Promise<void>((r) => {
      entered = r;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: Outcome[] = [];
    const subscription = producer.subscribeOutcomes({
      group: 'g',
      consumer: 'c',
      handler: async (outcomes) => {
        entered();
        await gate;
        seen.push(...outcomes);
      },
      onError: () => {},
    });
    const done = track('outcome subscription');
    onCleanup(async () => {
      await subscription.close();
      done();
    });
    await waitFor(async () => (await groupsOf(redis, keys.outcomeStream)) === 1, { what: 'the group' });

    sim.createObjects(TOKEN, 'contacts', [{ id: '501', properties: {} }]);
    await testWorker(queue, sim);
    await producer.enqueueMany([{ objectType: 'contacts', id: '501', properties: { firstname: 'a' } }]);
    await inHandler;

    // Close while the handler is in hand, then let the handler finish well within close's own wait.
    const closing = subscription.close();
    release();
    await closing;
    expect(seen).toHaveLength(1);

    const [pending] = (await redis.xpending(keys.outcomeStream, 'g')) as [number];
    expect(pending, 'entries the closed subscription handled and left unacknowledged').toBe(0);
  });

  it('the stream and its group vanish (Redis restarted without its data): the subscription makes its group again and delivers', async () => {
    const sim = await testSimulator();
    const queue = testQueue('sub-nogroup');
    const producer = testProducer(queue);
    const keys = queueKeys(queue);
    const redis = new Redis(redisUrl());
    onCleanup(() => redis.disconnect());

    const seen: Outcome[] = [];
    const errors: string[] = [];
    const subscription = producer.subscribeOutcomes({
      group: 'g',
      consumer: 'c',
      retryMs: 50,
      handler: (outcomes) => {
        seen.push(...outcomes);
      },
      onError: (err) => errors.push(String((err as Error).message)),
    });
    const done = track('outcome subscription');
    onCleanup(async () => {
      await subscription.close();
      done();
    });
    await waitFor(async () => (await groupsOf(redis, keys.outcomeStream)) === 1, { what: 'the group' });

    sim.createObjects(TOKEN, 'contacts', [
      { id: '601', properties: {} },
      { id: '602', properties: {} },
    ]);
    await testWorker(queue, sim);
    const [first] = await producer.enqueueMany([
      { objectType: 'contacts', id: '601', properties: { firstname: 'a' } },
    ]);
    await waitFor(() => seen.length >= 1, { what: 'the first outcome' });
    expect(seen[0]?.objectWriteTraceId).toBe(first?.objectWriteTraceId);

    // What a Redis restarted without persistence (or an emptied database) leaves: no stream, no group.
    await redis.del(keys.outcomeStream);
    const [second] = await producer.enqueueMany([
      { objectType: 'contacts', id: '602', properties: { firstname: 'b' } },
    ]);
    await producer.waitForOutcomes([second?.objectWriteTraceId ?? ''], { timeoutMs: 10_000 });
    await waitFor(() => seen.length >= 2, { timeoutMs: 10_000, what: 'the outcome settled after the loss' });
    expect(seen.map((o) => o.objectWriteTraceId)).toEqual([
      first?.objectWriteTraceId,
      second?.objectWriteTraceId,
    ]);
  });
});

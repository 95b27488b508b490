import { describe, expect, it } from 'vitest';
import { testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';

/** How long the slow account's calls take: long enough that its first calls are still out when the test looks. */
const SLOW_MS = 3000;

describe('a reserve of the worker’s slots per account', () => {
  it('an account with slow calls cannot take every slot: another account’s update goes out while they are still out', async () => {
    const sim = await testSimulator({
      autoCreate: true,
      portals: {
        'tok-slow': { portalId: 'slow', maxRequests: 100, windowMs: 10_000, latencyMs: SLOW_MS },
        'tok-fast': { portalId: 'fast', maxRequests: 100, windowMs: 10_000, latencyMs: 0 },
      },
    });
    const queue = testQueue('account-reserve');
    const producer = testProducer(queue);
    const slow = await producer.enqueueMany(
      Array.from({ length: 6 }, (_, i) => ({
        account: 'slow',
        objectType: 'contacts',
        id: String(100 + i),
        properties: { firstname: `Slow ${i}` },
      })),
    );
    await testWorker(queue, sim, {
      accounts: { slow: { token: 'tok-slow' }, fast: { token: 'tok-fast' } },
      concurrency: 4,
      accountReserve: 1,
      batchMaxSize: 1,
      validateProperties: false,
      httpTimeoutMs: 10_000,
    });
    // The slow account's first call goes alone (its answer tells the key's limits); then its calls are out
    // (counted by HubSpot as they arrive) and, as the worker claims ahead, hold every slot it may take.
    await waitFor(() => (sim.stats().maxCallsInAnyWindow.slow ?? 0) >= 4, {
      what: 'the first and three more calls of the slow account at HubSpot',
    });
    const [fast] = await producer.enqueueMany([
      { account: 'fast', objectType: 'contacts', id: '1', properties: { firstname: 'Fast' } },
    ]);
    const [done] = await producer.waitForOutcomes([fast?.objectWriteTraceId ?? ''], { timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: 'succeeded', account: 'fast' });
    // It did not wait for a slot the slow account held: none of the slow calls after the first had been answered.
    const slowOutcomes = await producer.getOutcomes(slow.map((r) => r.objectWriteTraceId));
    expect(slowOutcomes.filter((o) => o?.status === 'succeeded').length).toBeLessThanOrEqual(1);

    const all = await producer.waitForOutcomes(
      slow.map((r) => r.objectWriteTraceId),
      { timeoutMs: 30_000 },
    );
    expect(all.every((o) => o.status === 'succeeded')).toBe(true);
  });
});

// A queue name with the shard separator would be another queue's shard; gauges sum the shards that reported.

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { shardQueueNames } from '../../src/shards.js';
import { QueueGauges, type ShardReading } from '../../src/worker/gauges.js';

describe('shard names', () => {
  it("the library refuses a queue name that is another queue's shard", () => {
    const shardOfOrders = shardQueueNames('orders', 3)[1] as string;
    expect(shardOfOrders).toMatch(/^orders~\d+$/);
    // createProducer / createWorker / createQueueAdmin all take their queueName through this function.
    expect(() => shardQueueNames(shardOfOrders, 1)).toThrow();
  });
});

describe('gauges over shards', () => {
  it('sums the shards that reported (a shard not read yet counts as empty, not as unknown)', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const g = new QueueGauges(metrics, 2);
    const r = (waiting: number): ShardReading => ({
      depth: { waiting, pending: 0, inflight: 0, delayed: 0, invalid: 0 },
      oldestTs: Number.POSITIVE_INFINITY,
      now: 0,
      failed: new Map([['RATE_LIMIT', 1]]),
    });
    g.report(0, r(5));
    g.report(1, r(7));
    g.report(0, r(5));
    const depth = (await metrics.queueDepth.get()).values.find((v) => v.labels.state === 'waiting')?.value;
    const failed = (await metrics.failedUpdates.get()).values.find(
      (v) => v.labels.category === 'RATE_LIMIT',
    )?.value;
    expect({ depth, failed }).toEqual({ depth: 12, failed: 2 });
  });
});

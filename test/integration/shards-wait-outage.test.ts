// A wait started during a Redis outage, with one shard and with four: it rides the outage out, and nothing of it
// becomes an unhandled rejection.
import { describe, expect, it } from 'vitest';
import { createProducer } from '../../src/producer/producer.js';
import { shardOfAccount } from '../../src/shards.js';
import { testAdmin, testQueue } from '../helpers/pipeline.js';
import { startRedisProxy } from '../helpers/redis-proxy.js';
import { onCleanup, redisUrl, track } from '../helpers/resources.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => void unhandled.push(e));

function accountOfShard(shard: number, shards: number): string {
  for (let i = 0; ; i++) if (shardOfAccount(`acct-${i}`, shards) === shard) return `acct-${i}`;
}

describe.each([1, 4])('a wait started during an outage, %i shard(s)', (shards) => {
  it('raises no unhandled rejection', async () => {
    const q = testQueue(`rv-unh-${shards}`, shards);
    const account = accountOfShard(shards > 1 ? 1 : 0, shards);
    const direct = createProducer({ redis: redisUrl(), queueName: q, shards });
    const { objectWriteTraceId: id } = await direct.enqueue({
      account,
      objectType: 'contacts',
      id: '1',
      properties: { a: 'b' },
    });
    await direct.close();
    await testAdmin(q, { shards }).failAccount(account);
    const proxy = await startRedisProxy();
    const p = createProducer({ redis: proxy.url, queueName: q, shards });
    const done = track('producer');
    onCleanup(async () => {
      await p.close();
      done();
    });
    await p.getOutcome(id);
    unhandled.length = 0;
    proxy.setDown(true);
    const waiting = p.waitForOutcomes([id], { timeoutMs: 10_000 }).then(
      (o) => o.map((x) => x.status).join(','),
      (e: unknown) => `rejected: ${(e as Error).name}`,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    proxy.setDown(false);
    const result = await waiting;
    await new Promise((r) => setTimeout(r, 500));
    console.log(
      `shards=${shards}: ${result}; unhandled:`,
      unhandled.map((e) => (e as Error).stack),
    );
    expect(unhandled).toEqual([]);
    expect(result).toBe('failed');
  }, 30_000);
});

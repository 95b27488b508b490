import type { Redis } from 'ioredis';
import type { QueueAdmin } from '../../src/admin/queue-admin.js';
import { type QueueKeys, queueKeys } from '../../src/keys.js';
import type { UpdateRequest } from '../../src/update.js';
import { failInvalidJobs } from '../../src/worker/invalid.js';
import { QueueStore } from '../../src/worker/store.js';
import { testAdmin, testProducer } from './pipeline.js';
import { testRedis } from './resources.js';

/** A queue's Redis connection, keys, store and admin (outcomes kept `outcomeTtlSeconds`, default an hour). */
export interface DeadLetterQueue {
  redis: Redis;
  keys: QueueKeys;
  store: QueueStore;
  admin: QueueAdmin;
}

export function deadLetterQueue(queue: string, outcomeTtlSeconds = 3600): DeadLetterQueue {
  const redis = testRedis();
  const keys = queueKeys(queue);
  return {
    redis,
    keys,
    store: new QueueStore({ redis, keys, outcomeTtlSeconds }),
    admin: testAdmin(queue, { outcomeTtlSeconds }),
  };
}

/**
 * Enqueues the updates, ingests them and fails every waiting update of their accounts as an operator would
 * (`fail-account`), through the real scripts: each becomes a replayable dead letter (its job is kept).
 * Returns their trace ids in order.
 */
export async function operatorFailed(
  queue: string,
  q: DeadLetterQueue,
  updates: UpdateRequest[],
): Promise<string[]> {
  const results = await testProducer(queue).enqueueMany(updates);
  await q.store.ingest(1000);
  for (const account of new Set(updates.map((u) => u.account ?? 'default'))) {
    await q.admin.failAccount(account, { reason: 'given up by an operator' });
  }
  return results.map((r) => r.objectWriteTraceId);
}

/**
 * A job whose data names no object, failed by ingestion and the worker's invalid-job path: a dead letter that
 * cannot be replayed (its job is deleted). Returns its trace id.
 */
export async function unroutableFailed(q: DeadLetterQueue, traceId: string): Promise<string> {
  const jobId = `t-${traceId}`;
  await q.redis.hset(q.keys.jobPrefix + jobId, 'data', JSON.stringify({ objectType: 'contacts' }));
  await q.redis.hset(q.keys.jobPrefix + jobId, 'timestamp', Date.now());
  await q.redis.lpush(q.keys.wait, jobId);
  await q.store.ingest(10);
  await failInvalidJobs(q.store);
  return traceId;
}

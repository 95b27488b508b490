import type { RedisOptions } from 'ioredis';
import { createQueueAdmin, type QueueAdmin } from '../admin/queue-admin.js';
import { accountsOf, type Config } from '../config.js';
import { connectRedis } from '../redis.js';

/** An operator command fails after a few tries rather than wait out a Redis outage. */
const OPERATOR_CONNECTION: RedisOptions = { maxRetriesPerRequest: 3 };

/**
 * Runs `fn` with the admin of the configured queue (its outcome TTL and account budgets), on a connection of
 * its own that is closed afterwards, whatever `fn` does.
 */
export async function withQueueAdmin<T>(
  config: Config,
  fn: (admin: QueueAdmin) => Promise<T>,
  connection: RedisOptions = OPERATOR_CONNECTION,
): Promise<T> {
  const redis = connectRedis(config.REDIS_URL, connection);
  const admin = createQueueAdmin({
    redis,
    queueName: config.QUEUE_NAME,
    shards: config.QUEUE_SHARDS,
    outcomeTtlSeconds: config.OUTCOME_TTL_SECONDS,
    accounts: accountsOf(config),
  });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}

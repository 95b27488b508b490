import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { spawnWorker, TOKEN, testProducer, testQueue, testSimulator, waitFor } from '../helpers/pipeline.js';
import { startRedisProxy } from '../helpers/redis-proxy.js';
import { testRedis } from '../helpers/resources.js';

function exited(child: ReturnType<typeof spawnWorker>): { code?: number | null; done: boolean } {
  const state: { code?: number | null; done: boolean } = { done: false };
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, done: true };
  child.once('exit', (code) => {
    state.code = code;
    state.done = true;
  });
  return state;
}

describe('SIGTERM while the worker is still connecting at start', () => {
  it('exits 0 within SHUTDOWN_TIMEOUT_MS although Redis does not answer yet', async () => {
    const sim = await testSimulator();
    const queueName = testQueue('term-at-start');
    const proxy = await startRedisProxy();
    proxy.setDown(true);
    const child = spawnWorker({
      QUEUE_NAME: queueName,
      REDIS_URL: proxy.url,
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCESS_TOKEN: TOKEN,
      LIVENESS_TIMEOUT_MS: '30000',
      SHUTDOWN_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'info',
    });
    const state = exited(child);
    // It is in start(), retrying Redis, with its signal handlers in place.
    await waitFor(() => (child as unknown as { output: string }).output.includes('redis connection error'), {
      what: 'the worker to try Redis',
    });
    child.kill('SIGTERM');
    // SHUTDOWN_TIMEOUT_MS plus the CLI's exit grace is 7 s; LIVENESS_TIMEOUT_MS is 30 s.
    await waitFor(() => state.done, { what: 'the worker to exit', timeoutMs: 10_000 }).catch(() => undefined);
    expect(state.done, 'still alive 10 s after SIGTERM').toBe(true);
    expect(state.code).toBe(0);
  }, 60_000);

  it('exits 0 soon after SIGTERM once Redis is back, and takes no work after the signal', async () => {
    const sim = await testSimulator({ latencyMs: 3000 });
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const queueName = testQueue('term-then-up');
    const producer = testProducer(queueName);
    await producer.enqueue({ objectType: 'contacts', id: '1000', properties: { firstname: 'x' } });
    const proxy = await startRedisProxy();
    proxy.setDown(true);
    const child = spawnWorker({
      QUEUE_NAME: queueName,
      REDIS_URL: proxy.url,
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCESS_TOKEN: TOKEN,
      LIVENESS_TIMEOUT_MS: '30000',
      SHUTDOWN_TIMEOUT_MS: '2000',
      BATCH_LINGER_MS: '50',
      VALIDATE_PROPERTIES: 'false',
      LOG_LEVEL: 'info',
    });
    const state = exited(child);
    await waitFor(() => (child as unknown as { output: string }).output.includes('redis connection error'), {
      what: 'the worker to try Redis',
    });
    child.kill('SIGTERM');
    proxy.setDown(false);
    const redis = testRedis();
    const k = queueKeys(queueName);
    const claimed = await waitFor(async () => (await redis.zcard(k.leases)) > 0, {
      what: 'a claim',
      timeoutMs: 3000,
    }).then(
      () => true,
      () => false,
    );
    await waitFor(() => state.done, { what: 'the worker to exit', timeoutMs: 10_000 }).catch(() => undefined);
    expect(claimed).toBe(false);
    expect(state.done, 'still alive 18 s after SIGTERM with Redis up').toBe(true);
    expect(state.code).toBe(0);
  }, 60_000);
});

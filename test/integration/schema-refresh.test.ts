import { describe, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { queueKeys } from '../../src/keys.js';
import type { AccountBudget } from '../../src/ratelimit/budget.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import { schemaFetchGate } from '../../src/worker/pauses.js';
import { SchemaCache } from '../../src/worker/schema-cache.js';
import { TOKEN, testQueue, testSimulator, waitFor } from '../helpers/pipeline.js';
import { onCleanup, testRedis, track } from '../helpers/resources.js';

async function simulatorClient() {
  const sim = await testSimulator({ autoCreate: true });
  const port = createHubSpotClient({ baseUrl: sim.url, tokenProvider: async () => TOKEN });
  const done = track('hubspot client');
  onCleanup(() => {
    port.close();
    done();
  });
  return { sim, port };
}

/** A gate the schema fetch passes before its call, opened by the test; tells when a fetch reached it. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  let reached: () => void = () => {};
  const reachedOnce = new Promise<void>((resolve) => {
    reached = resolve;
  });
  return {
    open,
    reached: reachedOnce,
    pass: async () => {
      reached();
      await opened;
    },
  };
}

const schemaCalls = (sim: Awaited<ReturnType<typeof testSimulator>>) =>
  sim.calls().filter((c) => c.path.includes('/properties/')).length;

describe('property schemas, stale-while-revalidate', () => {
  it('an expired schema keeps serving while its refetch waits for its grant; only the first fetch is waited for', async () => {
    const { sim, port } = await simulatorClient();
    const gates = [gate(), gate()];
    let fetches = 0;
    const schemas = new SchemaCache({
      port,
      // Every use finds it expired.
      ttlMs: 0,
      beforeFetch: async () => {
        const g = gates[fetches++];
        await g?.pass();
      },
    });
    const signal = new AbortController().signal;

    const first = schemas.validatorFor('default', 'contacts', signal);
    await gates[0]?.reached;
    gates[0]?.open();
    const validator = await first;
    expect(validator).toBeTypeOf('function');

    // The refetch is held at its grant; the batch asking meanwhile gets the cached schema, not a wait.
    const again = schemas.validatorFor('default', 'contacts', signal);
    await gates[1]?.reached;
    const raced = await Promise.race([
      again,
      new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting'))),
    ]);
    expect(raced).toBe(validator);

    // The refetch completes in the background and replaces the copy.
    gates[1]?.open();
    await waitFor(() => schemaCalls(sim) >= 2, { what: 'the refetch at HubSpot' });
    expect(fetches).toBe(2);
  });

  it('a schema fetch’s wait for its grant is not recorded as a wait for a call’s grant', async () => {
    const waits: string[] = [];
    const limiter = new RateLimiter({
      redis: testRedis(),
      keys: queueKeys(testQueue('schema-wait')),
      onWait: (_account, _ms, reason) => waits.push(reason),
    });
    const budget: AccountBudget = { maxRequests: 1, windowMs: 300 };
    expect((await limiter.acquire('default', budget)).granted).toBe(true);
    // The window is full: the fetch sleeps until it frees up.
    await schemaFetchGate(limiter, () => budget, 1000)('default', new AbortController().signal);
    expect(waits).toEqual([]);
    // A call's own wait still is.
    await limiter.waitForGrant('default', budget);
    expect(waits).toContain('window');
  });
});

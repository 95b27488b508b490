import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { TokenProvider } from '../../src/hubspot/port.js';
import { queueKeys } from '../../src/keys.js';
import { createSharedTokenProvider, type FetchedToken } from '../../src/tokens/token-cache.js';
import { testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

const HOUR = 3_600_000;
const SECRET = `client-secret-${randomUUID()}`;

/** An OAuth server handing out `oauth-1`, `oauth-2`, ... each valid an hour, counting refreshes. */
function oauthServer() {
  const server = {
    fetches: 0,
    fetchToken: async (): Promise<FetchedToken> => {
      server.fetches++;
      return { accessToken: `oauth-${server.fetches}`, expiresInMs: HOUR };
    },
  };
  return server;
}

function replicas(queue: string, count: number, fetchToken: () => Promise<FetchedToken>): TokenProvider[] {
  return Array.from({ length: count }, () =>
    createSharedTokenProvider({ redis: testRedis(), keys: queueKeys(queue), fetchToken, secret: SECRET }),
  );
}

describe('expired OAuth tokens', () => {
  it('a token refused as expired is dropped here and in Redis, and refreshed once for every replica', async () => {
    const queue = testQueue('token-expired');
    const oauth = oauthServer();
    const providers = replicas(queue, 3, oauth.fetchToken);
    expect(await Promise.all(providers.map((p) => p('a')))).toEqual(['oauth-1', 'oauth-1', 'oauth-1']);
    expect(oauth.fetches).toBe(1);

    // Every replica's calls come back 401 EXPIRED_AUTHENTICATION at about the same time.
    await Promise.all(providers.map((p) => p.invalidate?.('a', 'oauth-1')));
    expect(await Promise.all(providers.map((p) => p('a')))).toEqual(['oauth-2', 'oauth-2', 'oauth-2']);
    expect(oauth.fetches).toBe(2);

    // A late 401 for the old token leaves the new one alone.
    await providers[0]?.invalidate?.('a', 'oauth-1');
    expect(await Promise.all(providers.map((p) => p('a')))).toEqual(['oauth-2', 'oauth-2', 'oauth-2']);
    expect(oauth.fetches).toBe(2);
  });

  it('the worker sends again with a fresh token at once instead of pausing the account and retrying the expired one', async () => {
    const portal = { portalId: 'oauth-portal', maxRequests: 100, windowMs: 10_000 };
    const sim = await testSimulator({
      autoCreate: true,
      acceptAnyToken: false,
      portals: { 'oauth-1': portal, 'oauth-2': portal },
    });
    const queue = testQueue('token-worker');
    const oauth = oauthServer();
    const providers = replicas(queue, 2, oauth.fetchToken);
    // Both replicas hold the token before it expires.
    await Promise.all(providers.map((p) => p('default')));
    sim.revokeToken('oauth-1', 'EXPIRED_AUTHENTICATION');

    const registries = providers.map(() => new Registry());
    for (const [i, tokenProvider] of providers.entries()) {
      await testWorker(queue, sim, {
        accounts: { default: {} },
        tokenProvider,
        batchMaxSize: 5,
        validateProperties: false,
        registry: registries[i] ?? new Registry(),
      });
    }
    const producer = testProducer(queue);
    const results = await producer.enqueueMany(
      Array.from({ length: 20 }, (_, i) => ({
        objectType: 'contacts',
        id: String(9000 + i),
        properties: { firstname: `T${i}` },
      })),
    );
    const outcomes = await producer.waitForOutcomes(
      results.map((r) => r.objectWriteTraceId),
      { timeoutMs: 20_000 },
    );
    expect(new Set(outcomes.map((o) => `${o.status}/${o.attempts}`))).toEqual(new Set(['succeeded/1']));
    expect(oauth.fetches).toBe(2);
    expect(sim.calls().some((c) => c.status === 401)).toBe(true);
    for (const registry of registries) {
      const pauses = (await registry.getSingleMetric('hbq_ratelimit_pauses_total')?.get())?.values ?? [];
      expect(pauses.filter((v) => v.labels.reason === 'auth' && v.value > 0)).toEqual([]);
    }
  });
});

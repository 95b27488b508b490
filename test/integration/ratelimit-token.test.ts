import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import {
  createSharedTokenProvider,
  type FetchedToken,
  type SharedTokenProviderOptions,
} from '../../src/tokens/token-cache.js';
import { TokenRefreshError } from '../../src/tokens/token-error.js';
import { waitFor } from '../helpers/pipeline.js';
import { cleanupQueue, testRedis, uniqueQueueName } from '../helpers/resources.js';

const ACCOUNT = 'acct-1';
const HALF_HOUR = 30 * 60_000;

function secret(): string {
  return `pat-na1-${randomUUID()}`;
}

function freshKeys() {
  const queue = uniqueQueueName('token');
  cleanupQueue(queue);
  return queueKeys(queue);
}

/** The secret every replica of a test shares, to seal tokens stored in Redis. */
const SHARED_SECRET = `client-secret-${randomUUID()}`;

/** A replica's provider sharing through Redis under {@link SHARED_SECRET}, with the options a test changes. */
function replica(
  keys: ReturnType<typeof queueKeys>,
  fetchToken: SharedTokenProviderOptions['fetchToken'],
  options: Partial<SharedTokenProviderOptions> = {},
) {
  return createSharedTokenProvider({
    redis: testRedis(),
    keys,
    fetchToken,
    secret: SHARED_SECRET,
    ...options,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Everything an error exposes: message, stack, own properties. */
function everythingIn(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return [error.message, error.stack ?? '', JSON.stringify(error), String(error.cause ?? '')].join('\n');
}

describe('shared token provider', () => {
  it('refreshes once for five replicas asking at the same time', async () => {
    const keys = freshKeys();
    const token = secret();
    let fetches = 0;
    const fetchToken = async (): Promise<FetchedToken> => {
      fetches++;
      await sleep(100);
      return { accessToken: token, expiresInMs: HALF_HOUR };
    };
    const providers = Array.from({ length: 5 }, () => replica(keys, fetchToken));
    const tokens = await Promise.all(providers.flatMap((provider) => [provider(ACCOUNT), provider(ACCOUNT)]));
    expect(tokens).toEqual(Array(10).fill(token));
    expect(fetches).toBe(1);

    // Served from the process cache, then from Redis for a replica that starts later.
    expect(await providers[0]!(ACCOUNT)).toBe(token);
    const late = replica(keys, fetchToken);
    expect(await late(ACCOUNT)).toBe(token);
    expect(fetches).toBe(1);

    const redis = testRedis();
    const ttl = await redis.pttl(keys.token(ACCOUNT).value);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(HALF_HOUR - 60_000);
    expect(await redis.exists(keys.token(ACCOUNT).lock)).toBe(0);
  });

  it('stores the shared token in Redis only sealed, and a replica on another secret refreshes for itself', async () => {
    const keys = freshKeys();
    const token = secret();
    let fetches = 0;
    const fetchToken = async (): Promise<FetchedToken> => {
      fetches++;
      return { accessToken: fetches === 1 ? token : `${token}-again`, expiresInMs: HALF_HOUR };
    };
    const provider = replica(keys, fetchToken);
    expect(await provider(ACCOUNT)).toBe(token);
    const stored = await testRedis().get(keys.token(ACCOUNT).value);
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain(token);
    expect(Buffer.from(stored!.slice(3), 'base64').toString('latin1')).not.toContain(token);

    const warnings: unknown[] = [];
    const stranger = replica(keys, fetchToken, {
      secret: `another-secret-${randomUUID()}`,
      logger: { debug: () => {}, warn: (entry: unknown) => warnings.push(entry) },
    });
    expect(await stranger(ACCOUNT)).toBe(`${token}-again`);
    expect(fetches).toBe(2);
    expect(JSON.stringify(warnings)).toContain(ACCOUNT);
    expect(JSON.stringify(warnings)).not.toContain(token);
  });

  it('refuses to share tokens through Redis without a secret of at least 16 bytes', () => {
    const fetchToken = async (): Promise<FetchedToken> => ({ accessToken: secret(), expiresInMs: HALF_HOUR });
    const keys = freshKeys();
    expect(() => createSharedTokenProvider({ redis: testRedis(), keys, fetchToken })).toThrow(/secret/);
    const short = 'too-short';
    const error = (() => {
      try {
        createSharedTokenProvider({ redis: testRedis(), keys, fetchToken, secret: short });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RangeError);
    expect(String(error)).toMatch(/at least 16 bytes/);
    expect(String(error)).not.toContain(short);
  });

  it('refreshes again, once, when the shared copy nears expiry', async () => {
    const keys = freshKeys();
    let fetches = 0;
    const fetchToken = async (): Promise<FetchedToken> => {
      fetches++;
      return { accessToken: `token-${fetches}`, expiresInMs: 1_000 };
    };
    const providers = Array.from({ length: 3 }, () => replica(keys, fetchToken, { refreshBeforeMs: 500 }));
    expect(new Set(await Promise.all(providers.map((p) => p(ACCOUNT))))).toEqual(new Set(['token-1']));
    await sleep(700);
    expect(new Set(await Promise.all(providers.map((p) => p(ACCOUNT))))).toEqual(new Set(['token-2']));
    expect(fetches).toBe(2);
  });

  it('lets another replica take over when the refresh fails', async () => {
    const keys = freshKeys();
    const token = secret();
    let fetches = 0;
    const fetchToken = async (): Promise<FetchedToken> => {
      fetches++;
      if (fetches === 1) throw new Error('invalid_grant');
      return { accessToken: token, expiresInMs: HALF_HOUR };
    };
    const a = replica(keys, fetchToken);
    const b = replica(keys, fetchToken);
    await expect(a(ACCOUNT)).rejects.toThrow(TokenRefreshError);
    expect(await b(ACCOUNT)).toBe(token);
    expect(await a(ACCOUNT)).toBe(token);
    expect(fetches).toBe(2);
  });

  it('keeps tokens out of errors', async () => {
    const keys = freshKeys();
    const token = secret();

    const failing = replica(keys, async () => {
      throw new Error(`invalid_grant: refresh token ${token} was revoked`);
    });
    const failure = await failing(ACCOUNT).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TokenRefreshError);
    expect(everythingIn(failure)).toContain('invalid_grant');
    expect(everythingIn(failure)).not.toContain(token);

    const invalid = replica(keys, async () => ({ accessToken: token, expiresInMs: Number.NaN }));
    const invalidError = await invalid(ACCOUNT).catch((error: unknown) => error);
    expect(invalidError).toBeInstanceOf(TokenRefreshError);
    expect(everythingIn(invalidError)).not.toContain(token);
  });

  it('gives up waiting for a stuck replica with an error naming no token', async () => {
    const keys = freshKeys();
    const token = secret();
    let finish: (value: FetchedToken) => void = () => {};
    const stuck = replica(
      keys,
      () =>
        new Promise<FetchedToken>((resolve) => {
          finish = resolve;
        }),
    );
    const holding = stuck(ACCOUNT);
    // The waiter must find the lock held; a fixed pause could end before the stuck replica took it.
    const redis = testRedis();
    await waitFor(async () => (await redis.exists(keys.token(ACCOUNT).lock)) === 1, {
      what: 'the refresh lock',
    });
    const waiter = replica(keys, async () => ({ accessToken: token, expiresInMs: HALF_HOUR }), {
      waitTimeoutMs: 200,
    });
    const error = await waiter(ACCOUNT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRefreshError);
    expect((error as Error).message).toMatch(/timed out/);
    expect(everythingIn(error)).not.toContain(token);

    finish({ accessToken: token, expiresInMs: HALF_HOUR });
    expect(await holding).toBe(token);
    expect(await waiter(ACCOUNT)).toBe(token);
  });

  it('keeps tokens out of Redis when sharing is off', async () => {
    const keys = freshKeys();
    let fetches = 0;
    const fetchToken = async (): Promise<FetchedToken> => {
      fetches++;
      return { accessToken: secret(), expiresInMs: HALF_HOUR };
    };
    const providers = Array.from({ length: 2 }, () => replica(keys, fetchToken, { shareViaRedis: false }));
    await Promise.all(providers.flatMap((p) => [p(ACCOUNT), p(ACCOUNT)]));
    expect(fetches).toBe(2);
    const redis = testRedis();
    expect(await redis.exists(keys.token(ACCOUNT).value, keys.token(ACCOUNT).lock)).toBe(0);
  });
});

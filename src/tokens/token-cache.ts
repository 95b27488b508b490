import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TokenProvider } from '../hubspot/port.js';
import type { QueueKeys } from '../keys.js';
import { compareAndDelete } from '../lua.js';
import { abortableSleep } from '../ratelimit/sleep.js';
import { TokenRefreshError } from './token-error.js';
import { openToken, sealToken, tokenSealKey } from './token-seal.js';

/** A freshly obtained access token and how long HubSpot said it lives (OAuth `expires_in`, in ms). */
export interface FetchedToken {
  accessToken: string;
  expiresInMs: number;
}

/** Options of {@link TokenCache} and {@link createSharedTokenProvider}. */
export interface SharedTokenProviderOptions {
  redis: Redis;
  keys: QueueKeys;
  /** Obtains a new access token (the OAuth refresh call). Called once per expiry across all replicas. */
  fetchToken: (account: string) => Promise<FetchedToken>;
  /** Refresh this long before expiry (capped at half the token's life). Default 60 s. */
  refreshBeforeMs?: number;
  /**
   * Share tokens between replicas through Redis (default true): one refresh for all, under a lock. When false,
   * each process refreshes on its own and nothing is written to Redis.
   */
  shareViaRedis?: boolean;
  /**
   * Secret given to every replica (at least 16 bytes; the OAuth client secret will do). Shared tokens are stored
   * in Redis only sealed with AES-256-GCM under a key derived from it. Required when `shareViaRedis` is on.
   */
  secret?: string | Uint8Array;
  /** TTL of the refresh lock: a replica that died mid-refresh blocks the others at most this long. Default 30 s. */
  lockTtlMs?: number;
  /** How long a replica waits for another's refresh before giving up. Default `lockTtlMs` + 5 s. */
  waitTimeoutMs?: number;
  logger?: Pick<Logger, 'debug' | 'warn'>;
}

/**
 * OAuth access tokens per account, refreshed once across all replicas and cached in Redis and in process.
 *
 * With `shareViaRedis` (the default) the access token is stored under `keys.token(account).value`, sealed with
 * a key derived from `secret` and bound to the account, with a TTL ending `refreshBeforeMs` before its expiry:
 * reading Redis does not give the token away. A replica given another secret cannot open it, says so in a
 * warning and refreshes for itself. Tokens are never logged and never appear in error messages.
 */
export class TokenCache {
  readonly #redis: Redis;
  readonly #keys: QueueKeys;
  readonly #fetchToken: SharedTokenProviderOptions['fetchToken'];
  readonly #refreshBeforeMs: number;
  readonly #share: boolean;
  readonly #sealKey: Buffer | undefined;
  readonly #lockTtlMs: number;
  readonly #waitTimeoutMs: number;
  readonly #logger: SharedTokenProviderOptions['logger'];
  readonly #local = new Map<string, { token: string; freshUntil: number }>();
  readonly #inflight = new Map<string, Promise<string>>();
  /** Per account, the last token HubSpot refused as expired: never handed out again, even if read back. */
  readonly #rejected = new Map<string, string>();

  constructor(options: SharedTokenProviderOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#fetchToken = options.fetchToken;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? 60_000;
    this.#share = options.shareViaRedis ?? true;
    if (this.#share && options.secret === undefined) {
      throw new RangeError(
        'sharing tokens through Redis needs `secret`, so that they are stored encrypted; pass one or set shareViaRedis: false',
      );
    }
    this.#sealKey = this.#share && options.secret !== undefined ? tokenSealKey(options.secret) : undefined;
    this.#lockTtlMs = options.lockTtlMs ?? 30_000;
    this.#waitTimeoutMs = options.waitTimeoutMs ?? this.#lockTtlMs + 5_000;
    this.#logger = options.logger;
  }

  /** The account's current access token; concurrent callers in this process share one lookup. */
  token(account: string): Promise<string> {
    const cached = this.#local.get(account);
    if (cached && Date.now() < cached.freshUntil) return Promise.resolve(cached.token);
    let pending = this.#inflight.get(account);
    if (!pending) {
      pending = (this.#share ? this.#obtainShared(account) : this.#refresh(account)).finally(() =>
        this.#inflight.delete(account),
      );
      this.#inflight.set(account, pending);
    }
    return pending;
  }

  /** Forgets this process's copy; the shared copy is left to its TTL (see {@link invalidate}). */
  forget(account: string): void {
    this.#local.delete(account);
  }

  /**
   * Drops `token` because HubSpot refused it as expired: this process's copy and the shared copy in Redis, each
   * only while it still is that token (a newer one another call or replica already got stays). The next
   * {@link token} then refreshes once across all replicas, under the shared lock.
   */
  async invalidate(account: string, token: string): Promise<void> {
    this.#rejected.set(account, token);
    if (this.#local.get(account)?.token === token) this.#local.delete(account);
    if (!this.#share || !this.#sealKey) return;
    const key = this.#keys.token(account).value;
    const sealed = await this.#redis.get(key);
    if (typeof sealed !== 'string' || sealed === '' || openToken(this.#sealKey, account, sealed) !== token)
      return;
    // Deleted only while it holds what was read: a refresh that stored a new token meanwhile keeps it.
    await compareAndDelete.run(this.#redis, [key], [sealed]);
    this.#logger?.debug({ account }, 'expired access token dropped');
  }

  async #obtainShared(account: string): Promise<string> {
    const keys = this.#keys.token(account);
    const deadline = Date.now() + this.#waitTimeoutMs;
    let backoffMs = 10;
    for (;;) {
      const shared = await this.#readShared(account, keys.value);
      if (shared) return shared;
      const owner = randomUUID();
      if ((await this.#redis.set(keys.lock, owner, 'PX', this.#lockTtlMs, 'NX')) === 'OK') {
        try {
          // Another replica may have stored a token between our read and taking the lock.
          return (await this.#readShared(account, keys.value)) ?? (await this.#refresh(account, keys.value));
        } finally {
          await compareAndDelete.run(this.#redis, [keys.lock], [owner]).catch(() => {});
        }
      }
      if (Date.now() >= deadline) {
        throw new TokenRefreshError(account, 'timed out waiting for another replica to refresh it');
      }
      // Polling rather than pub/sub keeps the provider free of a dedicated subscriber connection.
      await abortableSleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 200);
    }
  }

  async #readShared(account: string, key: string): Promise<string | undefined> {
    const [[, sealed], [, ttl]] = ((await this.#redis.multi().get(key).pttl(key).exec()) ?? [
      [null, null],
      [null, -2],
    ]) as [[unknown, unknown], [unknown, unknown]];
    if (typeof sealed !== 'string' || sealed === '' || typeof ttl !== 'number' || ttl <= 0) return undefined;
    const token = this.#sealKey ? openToken(this.#sealKey, account, sealed) : undefined;
    if (token !== undefined && token === this.#rejected.get(account)) return undefined;
    if (!token) {
      // Refreshing here replaces the shared copy, so replicas on different secrets would take turns refreshing.
      this.#logger?.warn(
        { account },
        'shared access token does not open with this secret; every replica must share one',
      );
      return undefined;
    }
    this.#local.set(account, { token, freshUntil: Date.now() + ttl });
    return token;
  }

  async #refresh(account: string, sharedKey?: string): Promise<string> {
    let fetched: FetchedToken;
    try {
      fetched = await this.#fetchToken(account);
    } catch (error) {
      throw new TokenRefreshError(account, 'fetchToken failed', error);
    }
    const { accessToken, expiresInMs } = fetched ?? {};
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new TokenRefreshError(account, 'fetchToken returned no access token');
    }
    if (typeof expiresInMs !== 'number' || !Number.isFinite(expiresInMs) || expiresInMs <= 0) {
      throw new TokenRefreshError(account, 'fetchToken returned an invalid expiresInMs');
    }
    const ttlMs = Math.max(1, Math.floor(expiresInMs - Math.min(this.#refreshBeforeMs, expiresInMs / 2)));
    this.#local.set(account, { token: accessToken, freshUntil: Date.now() + ttlMs });
    if (sharedKey && this.#sealKey) {
      try {
        await this.#redis.set(sharedKey, sealToken(this.#sealKey, account, accessToken), 'PX', ttlMs);
      } catch {
        // The token still serves this process; other replicas refresh on their own.
        this.#logger?.warn({ account }, 'could not share the refreshed token through Redis');
      }
    }
    this.#logger?.debug({ account, ttlMs }, 'access token refreshed');
    return accessToken;
  }
}

/**
 * A {@link TokenProvider} whose tokens are refreshed once across all replicas (see {@link TokenCache}, including
 * its note on storing tokens in Redis). Its `invalidate` drops a token HubSpot refused as expired, here and for
 * every replica, so the next call refreshes it (once) instead of retrying the expired one until its TTL ends.
 */
export function createSharedTokenProvider(options: SharedTokenProviderOptions): TokenProvider {
  const cache = new TokenCache(options);
  const provider: TokenProvider = (account) => cache.token(account);
  provider.invalidate = (account, token) => cache.invalidate(account, token);
  return provider;
}

import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { compareAndDelete, luaScript } from '../lua.js';

const resolveScript = luaScript('resolve', new URL('./lua/resolve.lua', import.meta.url), {
  keys: true,
  libs: ['finish.lua', 'lanes.lua', 'entries.lua', 'addresses.lua', 'job-data.lua'],
});

/**
 * What one batch/read found, per address key: the record id, or none (HubSpot knows no such record: its updates
 * fail with OBJECT_NOT_FOUND, or with `error` when given), or, with `silent`, nothing either way (the answer
 * neither listed nor named it): the address is read again, and after `maxAttempts` such reads its updates fail.
 */
export type Resolution = ReadonlyArray<{
  address: string;
  recordId?: string;
  error?: { category: string; message: string };
  silent?: true;
}>;

/**
 * The queue's side of identity resolution: the addresses (unique property values) a group's updates wait on,
 * a per-group lock so replicas do not read the same ones twice, and moving what a read found (resolve.lua).
 */
export class AddressStore {
  readonly #redis: Redis;
  readonly #keys: QueueKeys;
  readonly #mapTtlSeconds: number;
  readonly #outcomeTtlSeconds: number;
  readonly #maxAttempts: number;

  constructor(options: {
    redis: Redis;
    keys: QueueKeys;
    mapTtlSeconds: number;
    outcomeTtlSeconds: number;
    /** Reads that say nothing about an address before its updates fail (as MAX_ATTEMPTS bounds a write's). */
    maxAttempts: number;
  }) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#mapTtlSeconds = options.mapTtlSeconds;
    this.#outcomeTtlSeconds = options.outcomeTtlSeconds;
    this.#maxAttempts = options.maxAttempts;
  }

  /** The group's oldest addresses waiting for resolution, at most `max`. */
  waiting(group: string, max: number): Promise<string[]> {
    return this.#redis.zrange(this.#keys.unresolvedAddresses(group), 0, max - 1);
  }

  /** Takes the group's resolution lock for `ms`; false when another replica holds it. */
  async lock(group: string, owner: string, ms: number): Promise<boolean> {
    return (await this.#redis.set(this.#keys.resolving(group), owner, 'PX', ms, 'NX')) === 'OK';
  }

  /** Releases the lock if this owner still holds it. */
  async unlock(group: string, owner: string): Promise<void> {
    await compareAndDelete.run(this.#redis, [this.#keys.resolving(group)], [owner]);
  }

  /** Moves each address's updates to its record, or fails them when none was found (see resolve.lua). */
  async resolve(group: string, found: Resolution): Promise<{ moved: number; failed: number }> {
    if (found.length === 0) return { moved: 0, failed: 0 };
    const k = this.#keys;
    const args: Array<string | number> = [
      ...k.scriptArgs,
      group,
      this.#mapTtlSeconds,
      this.#outcomeTtlSeconds,
      this.#maxAttempts,
    ];
    for (const r of found)
      args.push(r.address, r.recordId ?? '', r.silent ? '?' : r.error ? JSON.stringify(r.error) : '');
    const r = (await resolveScript.run(
      this.#redis,
      [k.groups, k.inflight, k.stats, k.unresolvedAddresses(group)],
      args,
    )) as number[];
    return { moved: r[0] ?? 0, failed: r[1] ?? 0 };
  }
}

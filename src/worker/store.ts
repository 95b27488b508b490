import type { Redis } from 'ioredis';
import { parseEntry, type QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import type { RecordFacts } from '../outcomes/record.js';
import { ONLY_SHARD, type ShardPlace } from '../shards.js';
import type { BatchStory } from '../story/batch-story.js';
import { fenceOf } from './merge.js';
import type {
  ClaimedObject,
  ClaimResult,
  ReadyGroup,
  ReadyReport,
  SettlePlan,
  SettleResult,
} from './store-types.js';

const queue = { keys: true } as const;
const ending = { keys: true, libs: ['finish.lua', 'lanes.lua', 'entries.lua', 'addresses.lua'] } as const;
const scripts = {
  ingest: luaScript('ingest', new URL('./lua/ingest.lua', import.meta.url), {
    keys: true,
    libs: ['job-data.lua', 'lanes.lua', 'entries.lua', 'shards.lua', 'intake.lua'],
  }),
  ready: luaScript('ready', new URL('./lua/ready.lua', import.meta.url), queue),
  claim: luaScript('claim', new URL('./lua/claim.lua', import.meta.url), queue),
  settle: luaScript('settle', new URL('./lua/settle.lua', import.meta.url), ending),
  tick: luaScript('tick', new URL('./lua/tick.lua', import.meta.url), {
    keys: true,
    libs: ['lanes.lua', 'entries.lua'],
  }),
  extend: luaScript('extend', new URL('./lua/extend.lua', import.meta.url), queue),
  beginCall: luaScript('beginCall', new URL('./lua/begin-call.lua', import.meta.url)),
  failInvalid: luaScript('failInvalid', new URL('./lua/fail-invalid.lua', import.meta.url), ending),
};

export interface StoreOptions {
  redis: Redis;
  keys: QueueKeys;
  outcomeTtlSeconds: number;
  /** How long a learnt address mapping is kept (default a day). */
  addressTtlSeconds?: number;
  /** The shard these keys are (default the only one): ingest sets aside jobs of accounts other shards hold. */
  shard?: ShardPlace;
}

/** The worker's side of the queue in Redis: every call is one Lua script, so a batch costs few round trips. */
export class QueueStore {
  readonly #redis: Redis;
  readonly #keys: QueueKeys;
  readonly #ttl: number;
  readonly #addressTtl: number;
  readonly #shard: ShardPlace;

  constructor(options: StoreOptions) {
    this.#shard = options.shard ?? ONLY_SHARD;
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#ttl = options.outcomeTtlSeconds;
    this.#addressTtl = options.addressTtlSeconds ?? 24 * 3600;
  }

  /** Moves up to `max` jobs from BullMQ's wait list into the per-object pending structure. */
  async ingest(
    max: number,
  ): Promise<{ moved: number; invalid: number; duplicates: number; waiting: number; interactive: number }> {
    const k = this.#keys;
    const r = (await scripts.ingest.run(
      this.#redis,
      [k.wait, k.seq, k.groups, k.inflight, k.invalid, k.stats, k.interactiveWait],
      [...k.scriptArgs, max, this.#shard.index, this.#shard.count],
    )) as number[];
    return {
      moved: r[0] ?? 0,
      invalid: r[1] ?? 0,
      duplicates: r[2] ?? 0,
      waiting: r[3] ?? 0,
      interactive: r[4] ?? 0,
    };
  }

  async ready(): Promise<ReadyReport> {
    const r = (await scripts.ready.run(
      this.#redis,
      [this.#keys.groups, this.#keys.wait, this.#keys.interactiveWait],
      this.#keys.scriptArgs,
    )) as Array<string | number>;
    const groups: ReadyGroup[] = [];
    for (let i = 2; i + 4 < r.length; i += 5) {
      groups.push({
        group: String(r[i]),
        pendingObjects: Number(r[i + 1]),
        oldestEnqueuedAt: Number(r[i + 2]),
        unresolvedAddresses: Number(r[i + 3]),
        interactiveObjects: Number(r[i + 4]),
      });
    }
    return { now: Number(r[0]), waiting: Number(r[1]), groups };
  }

  async claim(options: {
    group: string;
    batchId: string;
    workerId: string;
    leaseMs: number;
    maxObjects: number;
    minObjects: number;
    lingerMs: number;
    maxUpdatesPerObject: number;
    /** Most updates in the whole batch: objects beyond it wait for the next batch. */
    maxUpdates: number;
  }): Promise<ClaimResult> {
    const k = this.#keys;
    const r = (await scripts.claim.run(
      this.#redis,
      [
        k.pending(options.group),
        k.inflight,
        k.leases,
        k.batch(options.batchId),
        k.stats,
        k.holds,
        k.held,
        k.interactive(options.group),
      ],
      [
        ...k.scriptArgs,
        options.batchId,
        options.leaseMs,
        options.maxObjects,
        options.minObjects,
        options.lingerMs,
        options.maxUpdatesPerObject,
        options.workerId,
        options.maxUpdates,
      ],
    )) as unknown[];
    if (r[0] === 'linger') return { kind: 'linger', waitMs: Number(r[1]) };
    if (r[0] !== 'ok') return { kind: 'empty' };
    const objects = (r[2] as unknown[][]).map((o): ClaimedObject => {
      const entries = o[1] as string[];
      const datas = o[2] as string[];
      const landedFlat = o[3] as string[];
      const reclaims = (o[4] ?? []) as number[];
      const flags = (o[5] ?? []) as number[];
      const tps = (o[6] ?? []) as string[];
      const ingested = (o[7] ?? []) as string[];
      const hist = (o[8] ?? []) as string[];
      const sets = o[9] as string[] | undefined;
      const landed: Record<string, number> = {};
      for (let i = 0; i + 1 < landedFlat.length; i += 2) {
        const field = landedFlat[i] as string;
        // The fence's own fields (the due time of a retry) name no property.
        if (field.startsWith('#')) continue;
        landed[field] = fenceOf(field, landedFlat[i + 1] as string);
      }
      return {
        objectKey: String(o[0]),
        updates: entries.map((raw, i) => ({
          entry: parseEntry(raw),
          data: datas[i] ?? '',
          ...(reclaims[i] ? { reclaims: Number(reclaims[i]) } : {}),
          ...((Number(flags[i]) & 1) !== 0 ? { checked: true } : {}),
          ...((Number(flags[i]) & 2) !== 0 ? { reresolved: true } : {}),
          ...(tps[i] ? { traceparent: tps[i] } : {}),
          ...(ingested[i] ? { ingestedAt: Number(ingested[i]) } : {}),
          ...(hist[i] ? { history: String(hist[i]).split(',') } : {}),
          ...(sets ? { sets: String(sets[i] ?? '') } : {}),
        })),
        landed,
      };
    });
    return { kind: 'ok', batchId: options.batchId, claimedAt: Number(r[1]), objects };
  }

  /**
   * Settles the batch: `settled`, or `lost` when its lease was lost and someone else owns its updates now, or
   * `{ failAccount }` (nothing written) when an operator failed the account while the batch was in flight and
   * the plan would hand updates back: settle again with them failed with that message.
   */
  async settle(batchId: string, plan: SettlePlan, story?: BatchStory): Promise<SettleResult> {
    const k = this.#keys;
    const r = await scripts.settle.run(
      this.#redis,
      [
        k.inflight,
        k.leases,
        k.batch(batchId),
        k.groups,
        k.delayed,
        k.stats,
        k.failed,
        k.settled(batchId),
        k.holds,
        k.held,
      ],
      [
        ...k.scriptArgs,
        batchId,
        this.#ttl,
        JSON.stringify(plan),
        this.#addressTtl,
        story ? JSON.stringify(story) : '',
      ],
    );
    if (Array.isArray(r) && r[0] === 'fail') return { failAccount: String(r[1] ?? '') };
    return r === 1 ? 'settled' : 'lost';
  }

  /**
   * Housekeeping: due retries, ended holds, expired leases (objects of a batch that had called HubSpot are held
   * for `holdMs`), and a slice of broken in-flight marks.
   */
  async tick(
    holdMs: number,
    options: { limit?: number; sweep?: number; streamRetentionMs?: number } = {},
  ): Promise<{ promoted: number; reclaimed: number; nextDueMs: number; repaired: number }> {
    const k = this.#keys;
    const r = (await scripts.tick.run(
      this.#redis,
      [k.delayed, k.leases, k.inflight, k.groups, k.stats, k.holds, k.held, k.sweepCursor],
      [...k.scriptArgs, options.limit ?? 500, holdMs, options.sweep ?? 100, options.streamRetentionMs ?? 0],
    )) as number[];
    return { promoted: r[0] ?? 0, reclaimed: r[1] ?? 0, nextDueMs: r[2] ?? -1, repaired: r[3] ?? 0 };
  }

  /**
   * Right before a call: true when the batch is still ours (its lease renewed, the call and its deadline
   * recorded), false when its lease was lost and the call must not be made.
   */
  async beginCall(batchId: string, leaseMs: number, callTimeoutMs: number): Promise<boolean> {
    const k = this.#keys;
    const r = await scripts.beginCall.run(
      this.#redis,
      [k.batch(batchId), k.leases],
      [batchId, leaseMs, callTimeoutMs],
    );
    return r === 1;
  }

  /** Extends the leases of the given batches; returns those already lost. */
  async extend(batchIds: readonly string[], leaseMs: number): Promise<string[]> {
    if (batchIds.length === 0) return [];
    const k = this.#keys;
    return (await scripts.extend.run(
      this.#redis,
      [k.leases],
      [...k.scriptArgs, leaseMs, ...batchIds],
    )) as string[];
  }

  /** Redis's clock (epoch ms), the clock every outcome time is taken on. */
  async time(): Promise<number> {
    const [seconds, micros] = await this.#redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Job ids whose data could not even be routed, with their raw data, oldest first. */
  async peekInvalid(max: number): Promise<Array<{ jobId: string; data: string | null }>> {
    const ids = await this.#redis.lrange(this.#keys.invalid, 0, max - 1);
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hget(this.#keys.jobPrefix + id, 'data');
    const res = (await pipeline.exec()) ?? [];
    return ids.map((jobId, i) => ({ jobId, data: (res[i]?.[1] as string | null) ?? null }));
  }

  /**
   * Fails unroutable jobs with the facts of their outcome (finish.lua builds the records), and removes them, in
   * one script that counts only what it removed.
   */
  async failInvalid(items: Array<{ jobId: string; facts: RecordFacts }>): Promise<void> {
    if (items.length === 0) return;
    const k = this.#keys;
    const args: Array<string | number> = [...k.scriptArgs, this.#ttl];
    for (const item of items) args.push(item.jobId, JSON.stringify(item.facts));
    await scripts.failInvalid.run(this.#redis, [k.invalid, k.stats, k.failed], args);
  }
}

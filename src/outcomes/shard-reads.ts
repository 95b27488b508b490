import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { type Explanation, explainUpdate } from '../story/explain.js';
import { isTerminal, type Outcome } from './outcome.js';
import { readOutcomes } from './reader.js';
import { StreamFollower } from './stream.js';
import { type OutcomeSubscription, type SubscribeOptions, subscribeOutcomes } from './subscribe.js';
import { WaitTimeoutError, waitForOutcomes } from './wait.js';

/**
 * Reads by trace id over a queue's shards. A reader knows an update only by its trace id, not its account, so it
 * asks every shard: one script call per shard and chunk, whatever the number of ids. With one shard each read is
 * exactly the single-queue read.
 */
export class ShardReads {
  readonly #redis: Redis;
  readonly #shards: readonly QueueKeys[];
  /** One follower of each shard's outcome stream, on a blocking connection of its own once something waits. */
  readonly #followers: Array<StreamFollower | undefined>;

  constructor(redis: Redis, shards: readonly QueueKeys[]) {
    this.#redis = redis;
    this.#shards = shards;
    this.#followers = shards.map(() => undefined);
  }

  /** Per id, the outcome of the shard that knows it (a terminal one first), or null when none does. */
  async outcomes(ids: readonly string[]): Promise<Array<Outcome | null>> {
    if (this.#shards.length === 1) return readOutcomes(this.#redis, this.#shards[0] as QueueKeys, ids);
    const { outcomes } = await this.#locate(ids);
    return outcomes;
  }

  /** The story of one update from the shard that knows it. */
  async explain(id: string): Promise<Explanation> {
    let last: Explanation | undefined;
    for (const keys of this.#shards) {
      last = await explainUpdate(this.#redis, keys, id);
      if (last.seen) return last;
    }
    return last as Explanation;
  }

  /**
   * Waits for every id's terminal outcome in the shard that holds it. An id no shard knows when the call starts
   * is waited for in shard 0 (enqueue before waiting: an update enqueued later to another shard is not seen).
   */
  async wait(ids: readonly string[], timeoutMs: number): Promise<Outcome[]> {
    if (this.#shards.length === 1)
      return waitForOutcomes(this.#redis, this.#keys(0), this.#follower(0), ids, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    const { shardOf } = await this.#locate(ids);
    const byShard = new Map<number, string[]>();
    ids.forEach((id, i) => {
      const shard = Math.max(0, shardOf[i] ?? 0);
      byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
    });
    const found = new Map<string, Outcome | null>();
    let timedOut = false;
    const settled = await Promise.allSettled(
      [...byShard].map(async ([shard, part]) => {
        try {
          const got = await waitForOutcomes(
            this.#redis,
            this.#keys(shard),
            this.#follower(shard),
            part,
            Math.max(0, deadline - Date.now()),
          );
          for (const [i, id] of part.entries()) found.set(id, got[i] ?? null);
        } catch (err) {
          if (!(err instanceof WaitTimeoutError)) throw err;
          timedOut = true;
          for (const [i, id] of part.entries()) found.set(id, err.outcomes[i] ?? null);
        }
      }),
    );
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    const all = ids.map((id) => found.get(id) ?? null);
    if (timedOut) throw new WaitTimeoutError(all);
    return all as Outcome[];
  }

  /** One consumer-group subscription per shard's stream, all to the same handler. */
  subscribe(connect: () => Redis, options: SubscribeOptions): OutcomeSubscription {
    const subscriptions = this.#shards.map((keys) => subscribeOutcomes(connect(), keys, options));
    return { close: async () => void (await Promise.all(subscriptions.map((s) => s.close()))) };
  }

  async close(): Promise<void> {
    await Promise.all(this.#followers.map((f) => f?.close()));
  }

  #keys(shard: number): QueueKeys {
    return this.#shards[shard] as QueueKeys;
  }

  #follower(shard: number): StreamFollower {
    let f = this.#followers[shard];
    if (!f) {
      const copy = this.#redis.duplicate();
      copy.on('error', () => {});
      f = new StreamFollower(copy, this.#keys(shard));
      this.#followers[shard] = f;
    }
    return f;
  }

  /** Reads every id in every shard: its outcome and the shard that holds it (-1: none). */
  async #locate(ids: readonly string[]): Promise<{ outcomes: Array<Outcome | null>; shardOf: number[] }> {
    const per = await Promise.all(this.#shards.map((keys) => readOutcomes(this.#redis, keys, ids)));
    const outcomes: Array<Outcome | null> = [];
    const shardOf: number[] = [];
    ids.forEach((_, i) => {
      let best = -1;
      per.forEach((p, shard) => {
        const o = p[i];
        if (!o) return;
        const current = best >= 0 ? per[best]?.[i] : undefined;
        if (!current || (isTerminal(o.status) && !isTerminal(current.status))) best = shard;
      });
      shardOf.push(best);
      outcomes.push(best >= 0 ? (per[best]?.[i] ?? null) : null);
    });
    return { outcomes, shardOf };
  }
}

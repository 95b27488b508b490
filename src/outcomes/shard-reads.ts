import type { Redis } from 'ioredis';
import { duplicateConnection } from '../connections.js';
import type { QueueKeys } from '../keys.js';
import { type Explanation, explainUpdate } from '../story/explain.js';
import { isTerminal, type Outcome } from './outcome.js';
import { readOutcomes } from './reader.js';
import { StreamFollower } from './stream.js';
import { type OutcomeSubscription, type SubscribeOptions, subscribeOutcomes } from './subscribe.js';
import { byDeadline, WaitTimeoutError, waitForOutcomes } from './wait.js';

/** How often a multi-shard wait looks again for ids no shard knew. */
export const LOCATE_MS = 250;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
  #closed = false;

  /** `redis` is the caller's; the followers' connections are duplicated from it and closed by {@link close}. */
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
    const stories = await Promise.all(this.#shards.map((keys) => explainUpdate(this.#redis, keys, id)));
    // The shard whose outcome `outcomes` would pick: a terminal one first, else the first that knows the id.
    const seen = stories.filter((s) => s.seen);
    return seen.find((s) => s.seen && isTerminal(s.outcome.status)) ?? seen[0] ?? (stories[0] as Explanation);
  }

  /**
   * Waits for every id's terminal outcome in the shard that holds it. An id no shard knows yet (a wait begun
   * before its enqueue) is looked for again every {@link LOCATE_MS} until a shard has it or the deadline passes;
   * a read that fails (Redis restarting) is tried again until then, as with one shard.
   */
  async wait(ids: readonly string[], timeoutMs: number): Promise<Outcome[]> {
    if (this.#shards.length === 1)
      return waitForOutcomes(this.#redis, this.#keys(0), this.#follower(0), ids, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    const found = new Map<string, Outcome | null>();
    let timedOut = false;
    let failed = false;
    const waits: Array<Promise<void>> = [];
    const waitIn = (shard: number, part: string[]) => {
      const waiting = (async () => {
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
          if (!(err instanceof WaitTimeoutError)) {
            failed = true;
            throw err;
          }
          timedOut = true;
          // An outcome already read as terminal stays, whatever the wait could add before its deadline.
          for (const [i, id] of part.entries()) if (!found.get(id)) found.set(id, err.outcomes[i] ?? null);
        }
      })();
      // Handled here and looked at once every wait ended: a failure while ids are still being located is not
      // an unhandled rejection.
      waiting.catch(() => {});
      waits.push(waiting);
    };
    let unknown = [...new Set(ids)];
    for (let first = true; unknown.length > 0 && !failed && !this.#closed; first = false) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (!first) await sleep(Math.min(LOCATE_MS, left));
      let located: { outcomes: Array<Outcome | null>; shardOf: number[] };
      try {
        located = await byDeadline(
          this.#locate(unknown, { partial: true }),
          deadline,
          () => new Error('deadline passed'),
        );
      } catch {
        continue;
      }
      const byShard = new Map<number, string[]>();
      const still: string[] = [];
      unknown.forEach((id, i) => {
        const shard = located.shardOf[i] ?? -1;
        const outcome = located.outcomes[i];
        if (shard < 0) still.push(id);
        // Already terminal: nothing to wait for.
        else if (outcome && isTerminal(outcome.status)) found.set(id, outcome);
        else byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
      });
      for (const [shard, part] of byShard) waitIn(shard, part);
      unknown = still;
    }
    if (unknown.length > 0) timedOut = true;
    const settled = await Promise.allSettled(waits);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    const all = ids.map((id) => found.get(id) ?? null);
    if (timedOut) throw new WaitTimeoutError(all);
    return all as Outcome[];
  }

  /** One consumer-group subscription per shard's stream, all to the same handler. */
  subscribe(options: SubscribeOptions): OutcomeSubscription {
    const subscriptions = this.#shards.map((keys) =>
      subscribeOutcomes(duplicateConnection(this.#redis), keys, options),
    );
    return { close: async () => void (await Promise.all(subscriptions.map((s) => s.close()))) };
  }

  /** Closes the stream followers (and their connections); a wait still locating ids stops looking. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#followers.map((f) => f?.close()));
  }

  #keys(shard: number): QueueKeys {
    return this.#shards[shard] as QueueKeys;
  }

  #follower(shard: number): StreamFollower {
    let f = this.#followers[shard];
    if (!f) {
      f = new StreamFollower(duplicateConnection(this.#redis), this.#keys(shard));
      this.#followers[shard] = f;
    }
    return f;
  }

  /**
   * Reads every id in every shard: its outcome and the shard that holds it (-1: none). With `partial`, a shard
   * that cannot be read (its master failing over) counts as knowing none of them this time, unless none could be.
   */
  async #locate(
    ids: readonly string[],
    options: { partial?: boolean } = {},
  ): Promise<{ outcomes: Array<Outcome | null>; shardOf: number[] }> {
    const reads = await Promise.allSettled(this.#shards.map((keys) => readOutcomes(this.#redis, keys, ids)));
    const failures = reads.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0 && (!options.partial || failures.length === reads.length))
      throw failures[0]?.reason;
    const per = reads.map((r) => (r.status === 'fulfilled' ? r.value : []));
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

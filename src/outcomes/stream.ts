import type { Redis } from 'ioredis';
import { within } from '../connections.js';
import type { QueueKeys } from '../keys.js';
import type { Outcome } from './outcome.js';
import { decodeStoredOutcome, publicOutcome } from './record.js';

/** One entry of the outcome stream: its id and the outcomes one script ended (settle of a batch, say). */
export interface OutcomeEntry {
  id: string;
  outcomes: Outcome[];
}

type RawEntry = [id: string, fields: string[]];

/** How long closing waits for the blocked read to give up. */
export const CLOSE_WAIT_MS = 1_000;

/**
 * Reads a stream entry's outcomes (field `o`, a JSON array of records). An entry it cannot read has none, and a
 * record it cannot read (of a format a later version wrote, say) is left out alone: its outcome stays readable by
 * trace id, which waiters fall back on.
 */
export function parseOutcomeEntry([id, fields]: RawEntry): OutcomeEntry {
  const at = fields.indexOf('o');
  const text = at >= 0 ? fields[at + 1] : undefined;
  if (text === undefined) return { id, outcomes: [] };
  let records: unknown;
  try {
    records = JSON.parse(text);
  } catch {
    return { id, outcomes: [] };
  }
  if (!Array.isArray(records)) return { id, outcomes: [] };
  const outcomes: Outcome[] = [];
  for (const r of records) {
    try {
      outcomes.push(publicOutcome(decodeStoredOutcome(r)));
    } catch {
      // Left out alone (see above).
    }
  }
  return { id, outcomes };
}

/** The id of the stream's newest entry, `0-0` when it is empty: reading after it gets every later outcome. */
export async function streamTail(redis: Redis, keys: QueueKeys): Promise<string> {
  const last = (await redis.xrevrange(keys.outcomeStream, '+', '-', 'COUNT', 1)) as RawEntry[];
  return last[0]?.[0] ?? '0-0';
}

/** Entries after `after` (exclusive), at most `count`. */
export async function entriesAfter(
  redis: Redis,
  keys: QueueKeys,
  after: string,
  count: number,
): Promise<OutcomeEntry[]> {
  const raw = (await redis.xrange(keys.outcomeStream, `(${after}`, '+', 'COUNT', count)) as RawEntry[];
  return raw.map(parseOutcomeEntry);
}

/**
 * Follows the stream's tail on its own blocking connection and hands every new entry to the listeners, while it
 * has any: what `waitForOutcomes` waits on. A listener also reads what came between its own start and its
 * registration (`entriesAfter`), so together nothing settled after its start is missed; a dropped connection or
 * a Redis restart only delays it (the stream is persisted with the rest of the queue, and waiters read records
 * again from time to time besides).
 */
export class StreamFollower {
  readonly #redis: Redis;
  readonly #keys: QueueKeys;
  readonly #listeners = new Set<(entry: OutcomeEntry) => void>();
  #loop: Promise<void> | undefined;
  #cursor: string | undefined;
  #closed = false;

  constructor(redis: Redis, keys: QueueKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /**
   * Adds a listener; returns the function that removes it. A follower that is not running yet starts after
   * `from` (the listener's own view of the tail), so nothing between the listener's start and its registration
   * falls between the two.
   */
  listen(listener: (entry: OutcomeEntry) => void, from: string): () => void {
    this.#listeners.add(listener);
    this.#cursor ??= from;
    this.#loop ??= this.#follow().finally(() => {
      this.#loop = undefined;
      this.#cursor = undefined;
    });
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#redis.disconnect();
    // A read re-queued while ioredis was reconnecting is never settled by disconnect(): do not wait on it.
    await within(CLOSE_WAIT_MS, this.#loop ?? Promise.resolve());
  }

  async #follow(): Promise<void> {
    while (this.#listeners.size > 0 && !this.#closed) {
      try {
        this.#cursor ??= await streamTail(this.#redis, this.#keys);
        const cursor = this.#cursor;
        const read = (await this.#redis.xread(
          'COUNT',
          100,
          'BLOCK',
          1000,
          'STREAMS',
          this.#keys.outcomeStream,
          cursor,
        )) as Array<[string, RawEntry[]]> | null;
        for (const raw of read?.[0]?.[1] ?? []) {
          const entry = parseOutcomeEntry(raw);
          this.#cursor = entry.id;
          for (const l of this.#listeners) l(entry);
        }
      } catch {
        if (this.#closed) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}

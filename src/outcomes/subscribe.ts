import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { dropConnection, within } from '../connections.js';
import type { QueueKeys } from '../keys.js';
import type { Outcome } from './outcome.js';
import { CLOSE_WAIT_MS, type OutcomeEntry, parseOutcomeEntry } from './stream.js';

type RawEntry = [id: string, fields: string[]];

/** Options of {@link subscribeOutcomes}. */
export interface SubscribeOptions {
  /** The consumer group: every group gets every outcome once; the consumers of one group share them. */
  group: string;
  /** This consumer's name in the group (default `<host>-<pid>`): a consumer restarted under its name first gets
   * what it had been given and not acknowledged. */
  consumer?: string;
  /**
   * Called with the outcomes of one stream entry (those one batch ended); the entry is acknowledged once it
   * resolves. When it throws, the entry is not acknowledged: it is given again (to this consumer after
   * `retryMs`, or to another of the group once it has been idle for `claimIdleMs`).
   */
  handler: (outcomes: Outcome[]) => void | Promise<void>;
  /** Where a group that does not exist yet starts: `new` outcomes only (default) or the `oldest` the stream keeps. */
  startAt?: 'new' | 'oldest';
  /** Entries read at a time (default 20). */
  count?: number;
  /** Entries a consumer of the group was given and has not acknowledged for this long are taken over (default 30 s). */
  claimIdleMs?: number;
  /** Pause after a failed handler or a lost connection (default 1 s). */
  retryMs?: number;
  /**
   * After this many failed handler runs on one entry (in this consumer) the entry is acknowledged without being
   * handled and `onError` gets an {@link OutcomeEntryDroppedError} carrying its outcomes: so one entry a handler
   * can never take does not stall the group. Default: never (the entry is given again until it is handled).
   */
  maxFailures?: number;
  /** Told about a failed handler or read; the subscription goes on. */
  onError?: (err: unknown) => void;
}

/** An entry given up after `maxFailures` failed handler runs; `outcomes` are those it carried. */
export class OutcomeEntryDroppedError extends Error {
  readonly code = 'OUTCOME_ENTRY_DROPPED';
  readonly outcomes: Outcome[];
  constructor(
    entry: OutcomeEntry,
    readonly failures: number,
    readonly lastError: unknown,
  ) {
    super(
      `stream entry ${entry.id} (${entry.outcomes.length} outcomes) dropped after ${failures} failed handler runs`,
    );
    this.name = 'OutcomeEntryDroppedError';
    this.outcomes = entry.outcomes;
  }
}

/** A running subscription; `close()` stops it after the entry in hand (it stays unacknowledged if unfinished). */
export interface OutcomeSubscription {
  close(): Promise<void>;
}

/**
 * Delivers every terminal outcome to a consumer group at least once: a Redis Streams consumer group over the
 * queue's outcome stream, with acknowledgements. A consumer that dies leaves its unacknowledged entries pending:
 * restarted under the same name it gets them first; otherwise another consumer of the group takes them over once
 * they have been idle for `claimIdleMs`. An acknowledged entry is never given again. A group that vanished with
 * its stream (a Redis restarted without its data) is made again from the new stream's start. `redis` must be a connection
 * of its own (reads block on it); the subscription closes it.
 */
export function subscribeOutcomes(
  redis: Redis,
  keys: QueueKeys,
  options: SubscribeOptions,
): OutcomeSubscription {
  const stream = keys.outcomeStream;
  const consumer = options.consumer ?? `${hostname()}-${process.pid}`;
  const count = options.count ?? 20;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const retryMs = options.retryMs ?? 1_000;
  let closed = false;
  let claimedAt = 0;
  // The entries in hand, so close() lets the handler finish and its entry be acknowledged before it disconnects.
  let handling: Promise<boolean> | undefined;

  const maxFailures = options.maxFailures ?? Number.POSITIVE_INFINITY;
  // Failed handler runs per entry, in this consumer: what `maxFailures` counts.
  const failures = new Map<string, number>();
  const handle = async (entries: OutcomeEntry[]): Promise<boolean> => {
    for (const entry of entries) {
      if (closed) return false;
      try {
        if (entry.outcomes.length > 0) await options.handler(entry.outcomes);
      } catch (err) {
        const n = (failures.get(entry.id) ?? 0) + 1;
        if (n < maxFailures) {
          failures.set(entry.id, n);
          options.onError?.(err);
          return false;
        }
        // An entry its handler can never take would stall the group: it is given up, and said so.
        options.onError?.(new OutcomeEntryDroppedError(entry, n, err));
      }
      failures.delete(entry.id);
      await redis.xack(stream, options.group, entry.id);
    }
    return true;
  };

  const createGroup = async (from: string) => {
    try {
      await redis.xgroup('CREATE', stream, options.group, from, 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  };

  const loop = async () => {
    let created = false;
    // What this consumer was given before (a restart under its name) comes first.
    let backlog = true;
    while (!closed) {
      try {
        if (!created) {
          await createGroup(options.startAt === 'oldest' ? '0' : '$');
          created = true;
        }
        if (Date.now() - claimedAt >= claimIdleMs / 2) {
          claimedAt = Date.now();
          const claimed = (await redis.xautoclaim(
            stream,
            options.group,
            consumer,
            claimIdleMs,
            '0-0',
            'COUNT',
            count,
          )) as [string, RawEntry[], string[]?];
          // Entries trimmed while pending come back as ids only: there is nothing left to deliver.
          for (const id of claimed[2] ?? []) await redis.xack(stream, options.group, id);
          if (claimed[1].length > 0) backlog = true;
        }
        const args = ['GROUP', options.group, consumer, 'COUNT', count, ...(backlog ? [] : ['BLOCK', 1000])];
        const read = (await redis.call(
          'XREADGROUP',
          ...args,
          'STREAMS',
          stream,
          backlog ? '0' : '>',
        )) as Array<[string, RawEntry[]]> | null;
        const raw = read?.[0]?.[1] ?? [];
        // A pending entry trimmed meanwhile comes back without fields: nothing is left to deliver.
        for (const [id, fields] of raw) if (fields === null) await redis.xack(stream, options.group, id);
        const entries = raw.filter(([, fields]) => fields !== null).map(parseOutcomeEntry);
        if (backlog && entries.length === 0) backlog = false;
        handling = handle(entries);
        const handled = await handling;
        handling = undefined;
        if (!handled) {
          backlog = true;
          await sleep(retryMs);
        }
      } catch (err) {
        handling = undefined;
        if (closed) return;
        options.onError?.(err);
        // The stream and its groups are gone (a Redis restarted without its data, an emptied database): the group
        // is made again from the stream's start, since everything the new stream holds came after the loss.
        if (String((err as Error).message).includes('NOGROUP')) {
          await createGroup('0').catch(() => {});
          claimedAt = 0;
        }
        backlog = true;
        await sleep(retryMs);
      }
    }
  };
  const running = loop();
  return {
    async close() {
      closed = true;
      // The entry in hand is finished and acknowledged if its handler ends in time; only then is the blocked read cut.
      if (handling)
        await within(
          CLOSE_WAIT_MS,
          handling.catch(() => false),
        );
      const dropped = dropConnection(redis, CLOSE_WAIT_MS);
      // A read re-queued while ioredis was reconnecting is never settled by disconnect(): do not wait on it.
      await within(CLOSE_WAIT_MS, running);
      await dropped;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

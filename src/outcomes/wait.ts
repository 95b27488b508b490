import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { isTerminal, type Outcome } from './outcome.js';
import { readOutcomes } from './reader.js';
import { entriesAfter, type OutcomeEntry, type StreamFollower, streamTail } from './stream.js';

/** How often a waiter reads its open records again whatever the stream says (a trimmed or lost stream). */
const REREAD_MS = 5_000;

/** Pause before a failed read is tried again. */
const RETRY_MS = 250;

/** Raised by `waitForOutcomes` when the timeout passes first; carries the outcomes as they stood. */
export class WaitTimeoutError extends Error {
  readonly code = 'WAIT_TIMEOUT';
  constructor(readonly outcomes: Array<Outcome | null>) {
    const open = outcomes.filter((o) => !o || !isTerminal(o.status)).length;
    super(`${open} of ${outcomes.length} updates had no terminal outcome before the timeout`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Resolves with every id's terminal outcome. The stream's tail is noted before the records are read, and every
 * stream entry after it is looked at (the follower's, plus a catch-up read of what came before the follower
 * took this waiter), so an outcome settled between the read and the wait is never missed; records are read again
 * every few seconds in case the stream lost entries (trimmed, or a Redis without persistence restarted).
 */
export async function waitForOutcomes(
  redis: Redis,
  keys: QueueKeys,
  follower: StreamFollower,
  ids: readonly string[],
  timeoutMs: number,
): Promise<Outcome[]> {
  const deadline = Date.now() + timeoutMs;
  const result = new Map<string, Outcome | null>();
  const open = new Set(ids);
  let wake: () => void = () => {};
  let allTaken: () => void = () => {};
  const taken = new Promise<undefined>((r) => {
    allTaken = () => r(undefined);
  });
  // A read still on the wire must not hold back outcomes the follower already delivered in full.
  const unlessTaken = <T>(p: Promise<T>): Promise<T | undefined> => Promise.race([p, taken]);
  // Settles when this wait returns or throws: deadline timers of reads still on the wire are dropped then.
  let over = false;
  let end: () => void = () => {};
  const finished = new Promise<void>((r) => {
    end = () => {
      over = true;
      r();
    };
  });
  const take = (entry: OutcomeEntry) => {
    for (const o of entry.outcomes) {
      if (open.has(o.objectWriteTraceId) && isTerminal(o.status)) {
        result.set(o.objectWriteTraceId, o);
        open.delete(o.objectWriteTraceId);
      }
    }
    if (open.size === 0) {
      wake();
      allTaken();
    }
  };
  const reread = async () => {
    const list = [...open];
    const fetched = await readOutcomes(redis, keys, list);
    list.forEach((id, i) => {
      // The follower may have delivered this id's terminal outcome while the read was on the wire; the record
      // read before it is older and must not replace it.
      if (!open.has(id)) return;
      const o = fetched[i] ?? null;
      if (!result.has(id) || o) result.set(id, o);
      if (o && isTerminal(o.status)) open.delete(id);
    });
  };
  // A reply that never comes (a connection cut again and again) must not hold the caller past its deadline, and
  // a read that fails (Redis restarting) is tried again until then.
  const timeout = () => new WaitTimeoutError(ids.map((id) => result.get(id) ?? null));
  const untilDeadline = async <T>(read: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await byDeadline(read(), deadline, timeout, finished);
      } catch (err) {
        // A read that fails after the wait ended (the follower delivered everything meanwhile) is not tried again.
        if (over || err instanceof WaitTimeoutError || Date.now() >= deadline)
          throw err instanceof WaitTimeoutError ? err : timeout();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, RETRY_MS))), finished]);
        clearTimeout(timer);
        if (over) throw timeout();
      }
    }
  };
  let tail = await untilDeadline(() => streamTail(redis, keys));
  await untilDeadline(reread);
  if (open.size === 0) return ids.map((id) => result.get(id) as Outcome);
  // A follower not yet running starts at this waiter's tail; one running already delivers what comes after its
  // own cursor, and the catch-up below reads what came between this tail and that cursor.
  const stop = follower.listen(take, tail);
  try {
    for (
      let entries = (await unlessTaken(untilDeadline(() => entriesAfter(redis, keys, tail, 500)))) ?? [];
      entries.length > 0 && open.size > 0;
    ) {
      for (const e of entries) take(e);
      tail = entries.at(-1)?.id ?? tail;
      entries =
        entries.length < 500
          ? []
          : ((await unlessTaken(untilDeadline(() => entriesAfter(redis, keys, tail, 500)))) ?? []);
    }
    while (open.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw timeout();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, REREAD_MS));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        wake = done;
      });
      // A failed reread is only a missed chance: the follower and the next reread go on.
      if (open.size > 0) {
        await unlessTaken(
          byDeadline(reread(), deadline, timeout, finished).catch((err: unknown) => {
            if (err instanceof WaitTimeoutError && open.size > 0) throw err;
          }),
        );
      }
    }
    return ids.map((id) => result.get(id) as Outcome);
  } finally {
    stop();
    end();
  }
}

/**
 * `p`, or `onTimeout()` thrown once `deadline` (epoch ms) passes first. Once `cancel` settles the deadline's timer
 * is dropped (the caller stopped waiting for `p`): a read stuck on the wire then keeps no timer alive, and with it
 * the process, until the deadline.
 */
export function byDeadline<T>(
  p: Promise<T>,
  deadline: number,
  onTimeout: () => Error,
  cancel?: Promise<unknown>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - Date.now()));
  });
  p.catch(() => {});
  const drop = () => clearTimeout(timer);
  cancel?.then(drop, drop);
  return Promise.race([p, expired]).finally(drop);
}

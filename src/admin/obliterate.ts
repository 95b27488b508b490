import type { Cluster, Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { liveWorkerIds } from './status.js';

/** Options of {@link obliterate}. */
export interface ObliterateOptions {
  /** Delete even while workers are alive (they would write some keys again, and lose their batches). */
  force?: boolean;
  /** Count the queue's keys and delete nothing. */
  dryRun?: boolean;
}

/** What {@link obliterate} did. */
export interface ObliterateResult {
  /** Keys deleted; with `dryRun`, keys found. */
  keys: number;
  /** Workers whose heartbeat was fresh when the queue was obliterated (only ever non-empty with `force`). */
  liveWorkers: string[];
}

/** Why obliterate refused: a stable code, and for live workers, their ids. */
export const ObliterateRefusal = {
  /** Workers of the queue are alive and `force` was not given. */
  liveWorkers: 'live-workers',
  /** The queue name contains `{` or `}`: its keys cannot be told from those of another queue. */
  queueName: 'queue-name',
} as const;
export type ObliterateRefusal = (typeof ObliterateRefusal)[keyof typeof ObliterateRefusal];

/** Obliterate changed nothing: see `reason`. */
export class ObliterateRefusedError extends Error {
  readonly code = 'OBLITERATE_REFUSED';
  constructor(
    readonly reason: ObliterateRefusal,
    message: string,
    readonly liveWorkers: readonly string[] = [],
  ) {
    super(message);
    this.name = 'ObliterateRefusedError';
  }
}

/** The refusal while workers of the queue are alive, naming them. */
export function liveWorkersRefusal(
  queueName: string,
  liveWorkers: readonly string[],
): ObliterateRefusedError {
  return new ObliterateRefusedError(
    ObliterateRefusal.liveWorkers,
    `${liveWorkers.length} worker(s) of queue "${queueName}" are alive (${liveWorkers.join(', ')}): stop them first`,
    liveWorkers,
  );
}

/** Redis's glob syntax: `*`, `?`, `[`, `]` and `\` in a queue name must match only themselves. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The nodes to scan: every master of a Cluster (SCAN on a cluster client reaches one node only), or the one
 * server. All keys of a queue share its hash tag and so one slot, but which master holds it is the cluster's
 * business: scanning each keeps this right across resharding.
 */
function nodesOf(redis: Redis): Redis[] {
  // A cluster client knows its masters once it has the slot map, so only after a command was answered: the
  // live-worker check comes first.
  return redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
}

/**
 * Deletes every key of one queue: BullMQ's (the wait list, job hashes, and states the worker never reads), the
 * pending structures, batches, outcomes, dead letters, counters, rate budgets, pauses and shared tokens. Keys of
 * other queues are never touched: a key is deleted only when it starts with this queue's root, `hbq:{name}:`.
 *
 * Refuses ({@link ObliterateRefusedError}) while any worker of the queue is alive, unless `force`: a live
 * worker would keep writing (heartbeats, settles of the batches it holds) into the emptied queue. A worker that
 * starts between the check and the deletion is not seen; stop the deployment first.
 */
export async function obliterate(
  redis: Redis,
  keys: QueueKeys,
  options: ObliterateOptions = {},
): Promise<ObliterateResult> {
  if (/[{}]/.test(keys.queueName)) {
    throw new ObliterateRefusedError(
      ObliterateRefusal.queueName,
      `queue "${keys.queueName}" has "{" or "}" in its name: its keys cannot be told from another queue's`,
    );
  }
  const liveWorkers = await liveWorkerIds(redis, keys);
  if (liveWorkers.length > 0 && !options.force) throw liveWorkersRefusal(keys.queueName, liveWorkers);
  const match = `${globEscape(keys.root)}*`;
  const found = new Set<string>();
  let deleted = 0;
  for (const node of nodesOf(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      const ours = batch.filter((key) => key.startsWith(keys.root));
      if (options.dryRun) for (const key of ours) found.add(key);
      // Sent through the client, not the node: a cluster client routes it to the slot's master. UNLINK counts
      // what it removed, so a key SCAN returns twice is counted once.
      else if (ours.length > 0) deleted += await redis.unlink(...ours);
    } while (cursor !== '0');
  }
  return { keys: options.dryRun ? found.size : deleted, liveWorkers };
}

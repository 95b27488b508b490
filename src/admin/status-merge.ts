import { shardOfAccount } from '../shards.js';
import type { AccountStatus, QueueStatus } from './status.js';

/**
 * One queue's status from its shards' statuses (shard 0 first): depths and counters summed, the oldest age the
 * oldest of any shard, each account as its own shard reads it, workers as the union of their ids (a worker
 * registers under one id in every shard it serves), the record format `mixed` when shards differ. `queue` is
 * shard 0's name, the queue's own. Accounts come in `configured` order, then the others.
 */
export function mergeStatuses(
  statuses: readonly QueueStatus[],
  configured: readonly string[] = [],
): QueueStatus {
  const [first] = statuses;
  if (!first) throw new RangeError('a queue has at least one shard');
  if (statuses.length === 1) return first;
  const sum = <T extends object>(pick: (s: QueueStatus) => T): T => {
    const out: Record<string, number> = {};
    for (const s of statuses) {
      for (const [k, v] of Object.entries(pick(s))) out[k] = (out[k] ?? 0) + Number(v);
    }
    return out as T;
  };
  const ages = statuses.map((s) => s.oldestWaitingAgeMs).filter((a): a is number => a !== null);
  const accounts = new Map<string, AccountStatus>();
  statuses.forEach((s, shard) => {
    for (const a of s.accounts) {
      // An account's limiter state is in its own shard; another shard may name it only from a misrouted group.
      if (shardOfAccount(a.account, statuses.length) === shard || !accounts.has(a.account)) {
        accounts.set(a.account, a);
      }
    }
  });
  const order = configured.filter((name) => accounts.has(name));
  for (const name of accounts.keys()) if (!order.includes(name)) order.push(name);
  const alive = [...new Set(statuses.flatMap((s) => s.workers.ids))].sort();
  const failedByCategory = sum((s) => s.failedByCategory);
  return {
    queue: first.queue,
    shards: statuses.map((s) => s.queue),
    at: Math.max(...statuses.map((s) => s.at)),
    depth: sum((s) => s.depth),
    oldestWaitingAgeMs: ages.length > 0 ? Math.max(...ages) : null,
    stranded: sum((s) => s.stranded),
    accounts: order.map((name) => accounts.get(name) as AccountStatus),
    outcomes: sum((s) => s.outcomes),
    failedByCategory: Object.fromEntries(
      Object.entries(failedByCategory).sort(([a], [b]) => a.localeCompare(b)),
    ),
    recordFormat: statuses.every((s) => s.recordFormat === first.recordFormat) ? first.recordFormat : 'mixed',
    workers: {
      alive: alive.length,
      ids: alive,
      stale: Math.max(...statuses.map((s) => s.workers.stale)),
    },
  };
}

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import { placeOf, ShardCountMismatchError, type ShardPlace } from '../shards.js';
import { traceparentOf } from '../telemetry/traceparent.js';
import { fingerprint, isInteractive, jobIdFor, type Update } from '../update.js';
import { routeOf } from './route.js';
import { type TraceIdConflict, TraceIdConflictError, type TraceIdHolder } from './trace-ids.js';

/** The enqueue script with the libraries it files updates with (intake.lua). */
export const enqueueScript = luaScript('enqueue', new URL('./lua/enqueue.lua', import.meta.url), {
  keys: true,
  libs: ['job-data.lua', 'lanes.lua', 'entries.lua', 'intake.lua'],
});
/**
 * Updates per Lua call: large enough to amortise the round trip, small enough not to block Redis long (a call of
 * 1,000 runs about 4,000 commands and files every update: about 15 ms of Redis time on the benchmark machine).
 * A call of a single shard that fits in one is enqueued without the read-only review first (the script alone is
 * all or nothing).
 */
export const ENQUEUE_CHUNK = 1000;
/** How long an enqueue call's result is kept for a re-sent call: far longer than any reconnect. */
const RESULT_TTL_SECONDS = 300;

/** What the result of one enqueued update says. */
export interface EnqueueResult {
  objectWriteTraceId: string;
  /** True when this trace id was already enqueued for the same update: it is not added twice. */
  duplicate: boolean;
}

/**
 * Enqueues valid updates of one shard, in order. `at(i)` is the call's index of `updates[i]`, so conflicts name
 * updates as the caller numbered them; `done` collects each result as it is known.
 */
export async function enqueueShard(
  redis: Redis,
  keys: QueueKeys,
  place: ShardPlace,
  updates: readonly Update[],
  data: readonly string[],
  accepted: readonly string[],
  at: (local: number) => number,
  done: (local: number, result: EnqueueResult) => void,
): Promise<void> {
  // The span active where the app enqueues: the worker's call spans link to it (no-op without an SDK).
  const traceparent = traceparentOf() ?? '';
  for (let i = 0; i < updates.length; i += ENQUEUE_CHUNK) {
    const chunk = updates.slice(i, i + ENQUEUE_CHUNK);
    const args: string[] = [...keys.scriptArgs, String(RESULT_TTL_SECONDS), traceparent, placeOf(place)];
    chunk.forEach((u, j) => {
      args.push(...updateArgs(u, data[i + j] as string, accepted[i + j] ?? ''));
    });
    // One request id per call: if ioredis re-sends it after a reconnect, the script returns its first answer.
    const resultKey = keys.enqueueResult(randomUUID());
    const reply = (await enqueueScript.run(redis, enqueueKeys(keys, resultKey), args)) as Array<
      string | number
    >;
    if (reply[0] === 'shards')
      throw new ShardCountMismatchError(keys.queueName, place.count, Number(reply[1]));
    if (reply[0] === 'conflict') {
      // Another producer took a trace id between the check and this call: this chunk wrote nothing.
      const conflicts: TraceIdConflict[] = [];
      for (let k = 1; k + 1 < reply.length; k += 2) {
        const local = i + Number(reply[k]) - 1;
        const by = String(reply[k + 1]);
        conflicts.push({
          index: at(local),
          objectWriteTraceId: updates[local]?.objectWriteTraceId ?? '',
          usedBy: by.startsWith('call:') ? at(i + Number(by.slice(5)) - 1) : holderOf(by),
        });
      }
      throw new TraceIdConflictError(conflicts);
    }
    chunk.forEach((u, j) => {
      done(i + j, { objectWriteTraceId: u.objectWriteTraceId, duplicate: reply[j + 1] !== 1 });
    });
  }
}

/** The enqueue script's keys (enqueue.lua's header), with `resultKey` the call's result under its request id. */
export function enqueueKeys(keys: QueueKeys, resultKey: string): string[] {
  return [
    keys.wait,
    keys.marker,
    resultKey,
    keys.interactiveWait,
    keys.seq,
    keys.shardPlace,
    keys.shardCount,
  ];
}

/**
 * One update's ten arguments of the enqueue script (enqueue.lua's header): its job, its data and fingerprint, the
 * accepted SHA-1 of an existing job's data ('' for none), its lane, and its route (route.ts).
 */
export function updateArgs(u: Update, data: string, accepted: string): string[] {
  const trace = u.objectWriteTraceId;
  const route = routeOf(u);
  return [
    jobIdFor(trace),
    trace,
    data,
    fingerprint(data),
    accepted,
    isInteractive(u) ? 'i' : '',
    ...(route === undefined
      ? ['', '', '', '']
      : route.toIngest
        ? ['', route.objectKey, '', '']
        : [route.group, route.objectKey, route.address, route.sets]),
  ];
}

/** Reads the enqueue script's `queued` or `finished`. */
function holderOf(by: string): TraceIdHolder {
  return by === 'finished' ? 'finished' : 'queued';
}

import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import { DEFAULT_ACCOUNT } from '../update.js';
import type { Outcome } from './outcome.js';
import { parseOutcomeRecord } from './record.js';

const getScript = luaScript('getOutcomes', new URL('./lua/get.lua', import.meta.url), { keys: true });
const CHUNK = 500;

/** Reads outcomes by trace id: the stored record, or `queued` while the job waits, or null when never seen. */
export async function readOutcomes(
  redis: Redis,
  keys: QueueKeys,
  ids: readonly string[],
): Promise<Array<Outcome | null>> {
  const out: Array<Outcome | null> = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    // KEYS[1] only routes the call to the queue's node in a cluster.
    const r = (await getScript.run(redis, [keys.stats], [...keys.scriptArgs, ...chunk])) as string[];
    chunk.forEach((id, j) => {
      const kind = r[j * 3];
      const payload = r[j * 3 + 1] ?? '';
      if (kind === 'o') out.push(parseOutcomeRecord(payload, id));
      else if (kind === 'q') out.push(queuedOutcome(id, payload, Number(r[j * 3 + 2])));
      else out.push(null);
    });
  }
  return out;
}

/** The outcome of an update still waiting (no record yet), from its job's data and enqueue time. */
export function queuedOutcome(id: string, data: string, enqueuedAt: number): Outcome {
  let d: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object') d = parsed as Record<string, unknown>;
  } catch {
    // An unparsable job is still queued until the worker fails it.
  }
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    objectWriteTraceId: id,
    status: 'queued',
    account: s(d.account) || DEFAULT_ACCOUNT,
    objectType: s(d.objectType),
    id: s(d.id),
    ...(typeof d.idProperty === 'string' ? { idProperty: d.idProperty } : {}),
    attempts: 0,
    enqueuedAt: Number.isFinite(enqueuedAt) ? enqueuedAt : 0,
    ...(d.priority === 'interactive' ? { priority: 'interactive' as const } : {}),
  };
}

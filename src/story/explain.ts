import type { Redis } from 'ioredis';
import { HISTORY_LIMIT, type QueueKeys } from '../keys.js';
import { luaScript } from '../lua.js';
import type { Outcome } from '../outcomes/outcome.js';
import { queuedOutcome } from '../outcomes/reader.js';
import { parseStoredRecord, publicOutcome, type StoredOutcome } from '../outcomes/record.js';
import type { BatchStory } from './batch-story.js';

const explainScript = luaScript('explain', new URL('./lua/explain.lua', import.meta.url), { keys: true });

/** One HubSpot call that carried the update. */
export interface ExplainedCall {
  /** When the request left (epoch ms). */
  at: number;
  /** HTTP status, or the transport failure's code (`TIMEOUT`, `CONNECTION_RESET`, ...). */
  status: number | string;
  /** HubSpot's `X-HubSpot-Correlation-Id`: quote it to HubSpot's support. */
  correlationId?: string;
  /** The update's attempt this call was (a 429 spends none, so the call after it is the same attempt). */
  attempt: number;
  /** How long the call waited for rate budget (ms). */
  waitedMs: number;
  latencyMs: number;
  /** The policy of a 429. */
  policyName?: string;
  /** Inputs the call carried (a 400's isolation sends parts of a batch). */
  inputs: number;
}

/** One batch the update was in. */
export interface ExplainedBatch {
  batchId: string;
  /** False when the batch's story is not kept: its worker stopped before settling it, or it expired. */
  recorded: boolean;
  claimedAt?: number;
  /** Inputs (objects) and updates in the batch. */
  inputs?: number;
  updates?: number;
  /** The other updates merged into the same input (the same object): one input carried them all. */
  mergedWith: string[];
  /** What was decided before any call, when the update was not sent (`superseded`, `failed: CATEGORY`, ...). */
  decided?: string;
  calls: ExplainedCall[];
}

/** An update's story: from enqueue to outcome. */
export interface UpdateStory {
  objectWriteTraceId: string;
  seen: true;
  /** Where it stands now (`queued` while it waits). */
  outcome: Outcome;
  enqueuedAt: number;
  /** When the queue took it from the wait list; absent while it waits there. */
  ingestedAt?: number;
  /** Oldest first; at most the latest 16. */
  batches: ExplainedBatch[];
}

/** The answer for a trace id the queue does not know: never enqueued, or its outcome expired. */
export interface UnknownUpdate {
  objectWriteTraceId: string;
  seen: false;
  message: string;
}

export type Explanation = UpdateStory | UnknownUpdate;

/** The message of {@link UnknownUpdate}. */
export function neverSeenMessage(id: string): string {
  return `never seen: no update with trace id "${id}" is known (never enqueued, or its outcome expired)`;
}

/** Tells one update's story from its outcome record, its job and the stories of its batches (one Redis call). */
export async function explainUpdate(redis: Redis, keys: QueueKeys, id: string): Promise<Explanation> {
  const r = (await explainScript.run(redis, [keys.stats], [...keys.scriptArgs, id, HISTORY_LIMIT])) as [
    string,
    string,
    string,
    string,
    string,
    string[],
  ];
  const [record, data, timestamp, ingested, , stories] = r;
  let outcome: Outcome;
  let stored: StoredOutcome | undefined;
  if (record) {
    stored = parseStoredRecord(record, id);
    outcome = publicOutcome(stored);
  } else if (data) {
    outcome = queuedOutcome(id, data, Number(timestamp));
  } else {
    return { objectWriteTraceId: id, seen: false, message: neverSeenMessage(id) };
  }
  const ingestedAt = ingested ? Number(ingested) : stored?.ingestedAt;
  const batches: ExplainedBatch[] = [];
  for (let i = 0; i + 1 < stories.length; i += 2) {
    batches.push(explainBatch(outcome.objectWriteTraceId, String(stories[i]), String(stories[i + 1])));
  }
  return {
    objectWriteTraceId: outcome.objectWriteTraceId,
    seen: true,
    outcome,
    enqueuedAt: outcome.enqueuedAt,
    ...(ingestedAt !== undefined && Number.isFinite(ingestedAt) ? { ingestedAt } : {}),
    batches,
  };
}

/** The update's part of one batch's story. Pure. */
export function explainBatch(trace: string, batchId: string, raw: string): ExplainedBatch {
  if (!raw) return { batchId, recorded: false, mergedWith: [], calls: [] };
  const story = JSON.parse(raw) as BatchStory;
  const batch: ExplainedBatch = {
    batchId,
    recorded: true,
    ...(story.claimedAt !== undefined ? { claimedAt: story.claimedAt } : {}),
    inputs: story.inputs.length,
    updates: story.inputs.reduce((n, input) => n + input.length, 0) + story.early.length,
    mergedWith: [],
    calls: [],
  };
  const decided = story.early.find(([t]) => t === trace);
  if (decided) batch.decided = decided[1];
  const index = story.inputs.findIndex((input) => input.some(([t]) => t === trace));
  if (index < 0) return batch;
  const input = story.inputs[index] ?? [];
  batch.mergedWith = input.map(([t]) => t).filter((t) => t !== trace);
  const attempt = (input.find(([t]) => t === trace)?.[1] ?? 0) + 1;
  for (const call of story.calls) {
    if (call.inputs && !call.inputs.includes(index)) continue;
    batch.calls.push({
      at: call.at,
      status: call.status,
      ...(call.correlationId ? { correlationId: call.correlationId } : {}),
      attempt,
      waitedMs: call.waitedMs,
      latencyMs: call.latencyMs,
      ...(call.policyName ? { policyName: call.policyName } : {}),
      inputs: call.inputs ? call.inputs.length : story.inputs.length,
    });
  }
  return batch;
}

/** What the queue store's scripts answer and take: claimed objects, the ready report, the settle plan. */
import type { Entry } from '../keys.js';
import type { EndFacts } from '../outcomes/record.js';

/** One claimed object: its pending updates (entry and raw job data) and its landed-sequence fence. */
export interface ClaimedObject {
  objectKey: string;
  /** `reclaims`: how often the update was taken back from a worker that died before calling HubSpot. */
  /** `checked`: our producer validated the data (see `CHECKED_JOB_NAME`), so it is not validated again. */
  /** `reresolved`: its address was looked up again once already, after HubSpot refuted a cached mapping. */
  /** `traceparent`: the producer's span context; `ingestedAt`, `history`: for the batch's story (`explain`). */
  /** `sets`: the addresses its job says it sets (one a line, '' for none), handed to settle with its outcome. */
  updates: Array<{
    entry: Entry;
    data: string;
    reclaims?: number;
    checked?: boolean;
    reresolved?: boolean;
    traceparent?: string;
    ingestedAt?: number;
    history?: string[];
    sets?: string;
  }>;
  landed: Record<string, number>;
}

export type ClaimResult =
  | { kind: 'empty' }
  | { kind: 'linger'; waitMs: number }
  | { kind: 'ok'; batchId: string; claimedAt: number; objects: ClaimedObject[] };

export interface ReadyGroup {
  group: string;
  pendingObjects: number;
  /** -1 when no object is pending. */
  oldestEnqueuedAt: number;
  /** Unique-property values waiting for their record to be found (resolver.ts). */
  unresolvedAddresses: number;
  /** Pending objects with interactive updates: claimed first, and without lingering. */
  interactiveObjects: number;
}

export interface ReadyReport {
  now: number;
  waiting: number;
  groups: ReadyGroup[];
}

/** What settling does with each update of a batch; see settle.lua for the semantics. */
export interface SettlePlan {
  objects: Array<{
    key: string;
    group: string;
    /**
     * Updates that end here; their outcome records are built from these facts (finish.lua). `sets`: the
     * addresses the job sets, as the claim read them ('' for none); absent, settle reads them from the job.
     */
    done: Array<
      EndFacts & { job: string; seq: number; status: 'succeeded' | 'failed' | 'superseded'; sets?: string }
    >;
    /**
     * Batches each update that stays queued (a retry, a hand-back, a new lookup) was in so far, this one included
     * (comma-separated, bounded): kept in its job (`hist`) for its next batch's outcome record and for `explain`.
     */
    history?: Array<{ job: string; batches: string }>;
    /** Updates retried after `delayMs`; `entry` carries the new attempt count. */
    retry: Array<EndFacts & { entry: string; delayMs: number }>;
    requeue: string[];
    landed: Record<string, number>;
    /** Holds the object for `ms`: only these jobs' updates may be claimed until then (see settle.lua). */
    hold?: { ms: number; jobs: string[] };
    /** Per property, the sequence of the value a call that may have applied carried (the tentative fence). */
    sent: Record<string, number>;
    /**
     * Per property, the sequence of a value HubSpot refused (a property problem of a 400 or 207): no call carrying
     * it applied, so it leaves the property's tentative fence (see settle.lua).
     */
    refuted?: Record<string, number>;
    /** Unique property values the record (its key is its id) now has, learnt from the input that landed. */
    learn?: Array<{ idProperty: string; value: string }>;
    /**
     * Updates addressed by a value whose cached record HubSpot did not know (OBJECT_NOT_FOUND): the mapping is
     * dropped and they wait for their address to be looked up again.
     */
    unresolve?: Array<{ entry: string; address: string }>;
  }>;
}

/** See {@link QueueStore.settle}. */
export type SettleResult = 'settled' | 'lost' | { failAccount: string };

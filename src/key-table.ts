/**
 * The Redis keys a queue owns, as data: `keys.ts` builds every key (and the Lua prelude) from this table, and the
 * README's key table for operators is rendered from it.
 */

/** One key (or family of keys) of a queue. */
export interface KeyDoc {
  /** After the queue's key root (or BullMQ's job prefix when `bull`). */
  readonly suffix: string;
  /** Name of the part that completes the key ('' for a single key). */
  readonly arg: string;
  /** After the part, for keys whose part sits in the middle. */
  readonly tail?: string;
  /** A BullMQ key, under `<bullPrefix>:<queueName>:`. */
  readonly bull?: boolean;
  readonly type: 'string' | 'hash' | 'list' | 'set' | 'zset' | 'stream';
  /** What it holds. */
  readonly holds: string;
  /** Who writes it. */
  readonly writers: string;
  /** How long it lives. */
  readonly ttl: string;
}

const table = {
  wait: {
    suffix: 'wait',
    arg: '',
    bull: true,
    type: 'list',
    holds:
      "BullMQ's wait list: ids of other clients' jobs not yet ingested (this producer files its updates at enqueue)",
    writers: "other clients' producers (LPUSH); ingest pops; fail-account removes the account's jobs",
    ttl: 'none',
  },
  interactiveWait: {
    suffix: 'wait-interactive',
    arg: '',
    type: 'list',
    holds:
      "ids of interactive jobs an earlier version of this producer left to ingest (BullMQ job hashes like the others), read before BullMQ's wait list so they do not wait behind its backlog; this version files them at enqueue",
    writers: "producers of earlier versions (LPUSH); ingest pops; fail-account removes the account's jobs",
    ttl: 'none',
  },
  marker: {
    suffix: 'marker',
    arg: '',
    bull: true,
    type: 'zset',
    holds: "BullMQ's marker, which wakes blocked workers when jobs arrive",
    writers: 'producers; workers pop',
    ttl: 'none',
  },
  bullDelayed: {
    suffix: 'delayed',
    arg: '',
    bull: true,
    type: 'zset',
    holds: "BullMQ's delayed jobs (added with `delay` or `repeat`)",
    writers: 'BullMQ producers only; the worker never reads it (status counts it as stranded)',
    ttl: 'none',
  },
  bullPrioritized: {
    suffix: 'prioritized',
    arg: '',
    bull: true,
    type: 'zset',
    holds: "BullMQ's prioritized jobs (added with `priority`)",
    writers: 'BullMQ producers only; the worker never reads it (status counts it as stranded)',
    ttl: 'none',
  },
  bullWaitingChildren: {
    suffix: 'waiting-children',
    arg: '',
    bull: true,
    type: 'zset',
    holds: "BullMQ's flow parents waiting for their children",
    writers: 'BullMQ producers only; the worker never reads it (status counts it as stranded)',
    ttl: 'none',
  },
  bullPaused: {
    suffix: 'paused',
    arg: '',
    bull: true,
    type: 'list',
    holds: "BullMQ's legacy paused list",
    writers: 'BullMQ producers only; the worker never reads it (status counts it as stranded)',
    ttl: 'none',
  },
  job: {
    suffix: '',
    arg: 'jobId',
    bull: true,
    type: 'hash',
    holds:
      "one update as a BullMQ job: `name`, `data`, `timestamp`, `seq` (its sequence number, given by this producer; another client's job gets it at ingest, kept once failed), `tp` (the producer's W3C traceparent); `ingestedAt`, `reclaims` and `hist` (the batches that carried it, for `explain`) once the queue has it; `sets` (the unique values it sets, see `setby:`) until it ends",
    writers: 'producers; settle drops it, or keeps a failed one for replay',
    ttl: 'none while queued; the outcome TTL once failed; deleted once finished otherwise',
  },
  outcome: {
    suffix: 'outcome:',
    arg: 'traceId',
    type: 'string',
    holds:
      'the outcome record of one update, by trace id: a JSON array of its fields by position (`src/outcomes/record.ts` reads it; records of older versions, JSON objects, are still read); its `hist` names the batches it was in (their `story:` records), its `ingestedAt` when the queue took it',
    writers: 'settle, fail-account, the invalid-job pass',
    ttl: 'OUTCOME_TTL_SECONDS',
  },
  recordFormat: {
    suffix: 'record-format',
    arg: '',
    type: 'string',
    holds:
      'how outcome records are written: `object` (JSON objects, what versions before the array records read) or `compact` (the default when absent); every script that ends updates reads it, so workers and admin commands write one format',
    writers: 'the `record-format` command (`QueueAdmin.setRecordFormat`), in every shard',
    ttl: 'none',
  },
  shardCount: {
    suffix: 'shards',
    arg: '',
    type: 'string',
    holds:
      "the queue's `QUEUE_SHARDS`, in shard 0 only: a producer, worker or admin command given another count refuses to run (`SHARD_COUNT_MISMATCH`), so no update is queued in a shard its account is not in",
    writers:
      "the first producer or worker of the queue (claim-shard-count.lua, only when none is recorded); a producer's enqueue to shard 0 when none is recorded (the queue was obliterated since it checked)",
    ttl: 'none',
  },
  shardPlace: {
    suffix: 'shard-place',
    arg: '',
    type: 'string',
    holds:
      "this shard's place in the queue, `index/count`, as the last worker to start on it (or, before any, the first producer) was given: the producer files its updates here itself only while its own place agrees (or, in shard 0, whose enqueue checks the shard count itself, none is recorded), else it leaves them on the wait list, where ingest fails those of an account another shard holds",
    writers: 'every worker, at start; a producer, once, after its shard-count check, where none is recorded',
    ttl: 'none',
  },
  seq: {
    suffix: 'seq',
    arg: '',
    type: 'string',
    holds:
      "counter giving every update its sequence number (enqueue order, the fencing order): this producer's at enqueue (kept as the job's `seq`), other clients' jobs at ingest",
    writers: 'producers; ingest; fail-account, for the jobs it fails before ingest',
    ttl: 'none',
  },
  groups: {
    suffix: 'groups',
    arg: '',
    type: 'set',
    holds: 'groups (`account|objectType`) that have claimable objects or addresses waiting for resolution',
    writers: 'enqueue, ingest, settle, tick, resolve; ready and fail-account drop empty ones',
    ttl: 'none',
  },
  pending: {
    suffix: 'pending:',
    arg: 'group',
    type: 'zset',
    holds: "claimable object keys of a group, scored by their oldest update's enqueue time",
    writers: 'enqueue, ingest, settle, tick; claim pops',
    ttl: 'none (empty zsets vanish)',
  },
  interactive: {
    suffix: 'interactive:',
    arg: 'group',
    type: 'zset',
    holds:
      "the group's claimable objects that have interactive updates, scored by their oldest interactive update's enqueue time; claimed before the pending zset's others",
    writers: 'enqueue, ingest, settle, tick, resolve (next to the pending zset); claim pops',
    ttl: 'none (empty zsets vanish)',
  },
  objectUpdates: {
    suffix: 'obj:',
    arg: 'objectKey',
    type: 'list',
    holds:
      'pending updates of one object (`seq:enqueuedAt:attempts:jobId`, `i` after the attempts for the interactive lane) in sequence order',
    writers: 'enqueue, ingest, settle, tick; claim takes',
    ttl: 'none (empty lists vanish)',
  },
  landed: {
    suffix: 'landed:',
    arg: 'objectKey',
    type: 'hash',
    holds:
      'the fence: per property, the sequence of the newest value that landed (`~prop`: that may have landed); `#retry`, the due time of the latest retry of the object in backoff',
    writers: 'settle',
    ttl: 'none while updates of the object wait; then the outcome TTL, from the due time of a retry still in backoff when that is later',
  },
  address: {
    suffix: 'addr:',
    arg: 'addressKey',
    type: 'string',
    holds:
      'the record id a unique property value names (`account|objectType|idProperty|value`, emails lower-cased)',
    writers:
      'resolve (from batch/read), settle (from updates that set the value); dropped when HubSpot no longer knows the record',
    ttl: 'ADDRESS_TTL_SECONDS',
  },
  addressOf: {
    suffix: 'rec:',
    arg: 'recordKey',
    type: 'string',
    holds:
      'the value a record has for a unique property (`account|objectType|idProperty|recordId`), so a value that moves drops its old mapping',
    writers: 'resolve, settle',
    ttl: 'ADDRESS_TTL_SECONDS',
  },
  unresolved: {
    suffix: 'unres:',
    arg: 'addressKey',
    type: 'list',
    holds: 'updates addressed by a unique property value whose record is not known yet, in sequence order',
    writers:
      "enqueue, ingest, settle (a mapping HubSpot refuted); resolve, or settle learning the value, moves them to their record; fail-account fails the account's",
    ttl: 'none (empty lists vanish)',
  },
  addressSetters: {
    suffix: 'setby:',
    arg: 'addressKey',
    type: 'set',
    holds:
      'ids of queued jobs whose update sets this unique value (a contact changing its email): a batch/read that finds no record for the value waits for them instead of failing its updates',
    writers: 'enqueue, ingest; an update that ends (finish) leaves it and has the value looked up again',
    ttl: 'none (empty sets vanish)',
  },
  unresolvedAddresses: {
    suffix: 'unresolved:',
    arg: 'group',
    type: 'zset',
    holds: "a group's addresses waiting for resolution, scored by their oldest update's enqueue time",
    writers: 'enqueue, ingest, settle; resolve and fail-account remove',
    ttl: 'none (empty zsets vanish)',
  },
  resolving: {
    suffix: 'resolving:',
    arg: 'group',
    type: 'string',
    holds: "lock of one replica's resolution of a group's addresses, so two replicas do not read the same",
    writers: 'the resolver',
    ttl: '30 seconds',
  },
  inflight: {
    suffix: 'inflight',
    arg: '',
    type: 'hash',
    holds: 'object key → the batch that has it in flight (one batch per object)',
    writers: 'claim; settle and tick release',
    ttl: 'none',
  },
  leases: {
    suffix: 'leases',
    arg: '',
    type: 'zset',
    holds: 'in-flight batch ids scored by lease deadline (ms)',
    writers: 'claim, heartbeat, begin-call; settle and tick remove',
    ttl: 'none',
  },
  batch: {
    suffix: 'batch:',
    arg: 'batchId',
    type: 'hash',
    holds:
      'one in-flight batch: object key → its claimed entries; `#worker`, `#at`, `#calls`, `#callEnds`, `#fail`',
    writers: 'claim, begin-call, fail-account; settle and tick delete',
    ttl: 'none (deleted at settle or when taken back)',
  },
  story: {
    suffix: 'story:',
    arg: 'batchId',
    type: 'string',
    holds:
      'what one batch did, for `explain` (JSON): its updates by input (merged ones share an input), those decided before sending, and each HubSpot call (time, status, correlation id, budget wait)',
    writers: 'settle (also when the batch was lost, so its calls are still told)',
    ttl: 'OUTCOME_TTL_SECONDS',
  },
  settled: {
    suffix: 'done:',
    arg: 'batchId',
    type: 'string',
    holds: 'marker of a settled batch, so a settle that runs twice reports the first run',
    writers: 'settle',
    ttl: '10 minutes',
  },
  holds: {
    suffix: 'holds',
    arg: '',
    type: 'hash',
    holds:
      'object key → `untilMs|jobId,...`: after a call that may still apply, only those updates may be sent',
    writers: 'settle, tick; claim and tick end them',
    ttl: 'none',
  },
  held: {
    suffix: 'held',
    arg: '',
    type: 'zset',
    holds: 'held object keys scored by the end of their hold',
    writers: 'settle, claim, tick',
    ttl: 'none',
  },
  sweepCursor: {
    suffix: 'sweep',
    arg: '',
    type: 'string',
    holds: 'cursor of the sweep that repairs in-flight marks whose batch is gone',
    writers: 'tick',
    ttl: 'none',
  },
  delayed: {
    suffix: 'delayed',
    arg: '',
    type: 'zset',
    holds: '`objectKey\\nentry` of updates in retry backoff, scored by when the retry is due',
    writers: 'settle; tick promotes',
    ttl: 'none',
  },
  invalid: {
    suffix: 'invalid',
    arg: '',
    type: 'list',
    holds: 'ids of jobs whose data could not be routed; the worker fails them with a validation error',
    writers: 'ingest; the invalid-job pass removes',
    ttl: 'none',
  },
  failed: {
    suffix: 'failed',
    arg: '',
    type: 'zset',
    holds: 'the dead-letter index: `traceId|category|jobId` scored by finish time',
    writers: 'settle, fail-account, the invalid-job pass; pruning and replay remove',
    ttl: 'none (entries pruned after the outcome TTL)',
  },
  request: {
    suffix: 'request:',
    arg: 'requestId',
    type: 'string',
    holds: 'the result of one operator request (replay, fail-account), so a re-sent script reports it again',
    writers: 'replay, fail-account',
    ttl: '5 minutes',
  },
  enqueueResult: {
    suffix: 'enqueue:',
    arg: 'requestId',
    type: 'string',
    holds: 'what one enqueue call returned, so a re-sent call returns the same',
    writers: 'producers',
    ttl: '5 minutes',
  },
  stats: {
    suffix: 'stats',
    arg: '',
    type: 'hash',
    holds: 'counters: updates pending, in flight, delayed; outcomes by status; `failed:<category>`',
    writers: 'every script that moves an update',
    ttl: 'none',
  },
  workers: {
    suffix: 'workers',
    arg: '',
    type: 'zset',
    holds: 'worker ids scored by last heartbeat (ms)',
    writers: 'heartbeat; a clean shutdown removes; forgotten after an hour of silence',
    ttl: 'none',
  },
  outcomeStream: {
    suffix: 'outcomes',
    arg: '',
    type: 'stream',
    holds:
      'terminal outcomes as they happen, one entry per script that ended updates (`o`: a JSON array of records, each naming its trace id); consumer groups of `subscribeOutcomes`',
    writers: 'settle, fail-account, resolve, the invalid-job pass; housekeeping trims',
    ttl: 'OUTCOME_STREAM_RETENTION_SECONDS',
  },
  rateLog: {
    suffix: 'rate:',
    arg: 'account',
    tail: ':log',
    type: 'zset',
    holds: "an account's granted calls (grant id scored by time): its rolling window",
    writers: 'the rate limiter',
    ttl: 'two windows and a minute after the last grant',
  },
  rateState: {
    suffix: 'rate:',
    arg: 'account',
    tail: ':state',
    type: 'hash',
    holds: "an account's schedule anchor, pause and HubSpot's reported budget",
    writers: 'the rate limiter, resume-account',
    ttl: 'two days after the last write (longer while paused)',
  },
  tokenLock: {
    suffix: 'token:',
    arg: 'account',
    tail: ':lock',
    type: 'string',
    holds: 'lock of one OAuth token refresh across replicas',
    writers: 'the token cache',
    ttl: '30 seconds',
  },
  tokenValue: {
    suffix: 'token:',
    arg: 'account',
    tail: ':value',
    type: 'string',
    holds: "an account's OAuth access token, sealed (AES-GCM with a key only the workers hold)",
    writers: 'the token cache',
    ttl: "the token's lifetime",
  },
} as const satisfies Record<string, KeyDoc>;

export type KeyName = keyof typeof table;
export const KEY_TABLE: { readonly [N in KeyName]: (typeof table)[N] & KeyDoc } = table;

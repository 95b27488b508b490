/**
 * Every Redis key the project writes, built in one place.
 *
 * All keys of a queue share the hash tag `{QUEUE_NAME}`, so a queue lives in one Redis Cluster slot (our Lua
 * scripts touch many keys at once) and two queues never interfere. BullMQ's own keys use the prefix
 * `hbq:{QUEUE_NAME}`, so BullMQ clients in other languages enqueue with `prefix = "hbq:{QUEUE_NAME}"`.
 */
export interface QueueKeys {
  /** BullMQ `prefix` option for this queue. */
  readonly bullPrefix: string;
  /** The BullMQ queue name. */
  readonly queueName: string;
  /** Root shared by every key of this queue, e.g. `hbq:{hubspot-updates}:`. */
  readonly root: string;
  /** BullMQ's job hash prefix: `<bullPrefix>:<queueName>:` + job id. */
  readonly jobPrefix: string;
  /** BullMQ's wait list (LPUSH by producers, popped FIFO by ingestion). */
  readonly wait: string;
  /** BullMQ's marker zset, which wakes blocked consumers when jobs arrive. */
  readonly marker: string;
  /** BullMQ's meta hash. */
  readonly meta: string;
  /** BullMQ's events stream. */
  readonly events: string;
  /** Outcome record of one update, a JSON string with a TTL. */
  outcome(objectWriteTraceId: string): string;
  /** Prefix of outcome keys (used by Lua scripts that build them). */
  readonly outcomePrefix: string;
  /** Counter giving every ingested update its sequence number (enqueue order). */
  readonly seq: string;
  /** Set of group names (`account|objectType`) that have claimable objects. */
  readonly groups: string;
  /** Zset of claimable object keys in a group, scored by the enqueue time of the object's oldest update. */
  pending(group: string): string;
  readonly pendingPrefix: string;
  /** List of pending update entries of one object, in sequence order. */
  objectUpdates(objectKey: string): string;
  readonly objectPrefix: string;
  /** Hash of property name to the sequence number of the last value that landed in HubSpot. */
  landed(objectKey: string): string;
  readonly landedPrefix: string;
  /** Hash of object key to the batch that has it in flight: at most one in-flight batch per object. */
  readonly inflight: string;
  /** Zset of in-flight batch ids scored by lease deadline (ms). */
  readonly leases: string;
  /** Hash describing one in-flight batch. */
  batch(batchId: string): string;
  readonly batchPrefix: string;
  /**
   * Hash of object key to a hold, `untilMs|jobId,jobId,...`: after a call that may still apply (a timeout, a
   * reset, a 5xx, a lost lease), only those updates of the object may be sent until the hold ends.
   */
  readonly holds: string;
  /** Zset of held object keys scored by the end of their hold, so housekeeping finds the ones that end. */
  readonly held: string;
  /** Marker left for a while by a settled batch, so a settle that runs twice reports the first run's success. */
  settled(batchId: string): string;
  /** Cursor of the sweep that repairs in-flight marks whose batch is gone. */
  readonly sweepCursor: string;
  /** Zset of `objectKey\nentry` scored by the time a retry is due. */
  readonly delayed: string;
  /** List of job ids whose data could not be routed; the worker fails them with a validation error. */
  readonly invalid: string;
  /** Zset of failed updates (`traceId|category|jobId`) scored by finish time: the dead-letter index. */
  readonly failed: string;
  /** Result of one operator request (replay, fail-account), kept briefly so a re-sent script reports it again. */
  request(requestId: string): string;
  /** Hash of counters: queue depth by state and outcomes by status. */
  readonly stats: string;
  /** Zset of worker ids scored by last heartbeat (ms). */
  readonly workers: string;
  /** Pub/sub channel announcing settled batches, for `waitForOutcomes`. */
  readonly settledChannel: string;
  /** What one enqueue call returned, kept briefly under its request id so a re-sent call returns the same. */
  enqueueResult(requestId: string): string;
  /** Rate limiter keys of one account. */
  rate(account: string): RateKeys;
  /** Lock and cache for a shared OAuth token of one account. */
  token(account: string): { lock: string; value: string };
  /** Cached HubSpot property schema of one object type of one account. */
  propertySchema(account: string, objectType: string): string;
}

export interface RateKeys {
  /** Zset log of granted calls (member grant id, score time ms). */
  readonly log: string;
  /** Hash: pause state, HubSpot's reported budget, external usage estimate. */
  readonly state: string;
}

/** Builds the key set of one queue. */
export function queueKeys(queueName: string): QueueKeys {
  const tag = `{${queueName}}`;
  const bullPrefix = `hbq:${tag}`;
  const root = `${bullPrefix}:`;
  const jobPrefix = `${bullPrefix}:${queueName}:`;
  const k = (suffix: string) => `${root}${suffix}`;
  return {
    bullPrefix,
    queueName,
    root,
    jobPrefix,
    wait: `${jobPrefix}wait`,
    marker: `${jobPrefix}marker`,
    meta: `${jobPrefix}meta`,
    events: `${jobPrefix}events`,
    outcomePrefix: k('outcome:'),
    outcome: (id) => k(`outcome:${id}`),
    seq: k('seq'),
    groups: k('groups'),
    pendingPrefix: k('pending:'),
    pending: (group) => k(`pending:${group}`),
    objectPrefix: k('obj:'),
    objectUpdates: (objectKey) => k(`obj:${objectKey}`),
    landedPrefix: k('landed:'),
    landed: (objectKey) => k(`landed:${objectKey}`),
    inflight: k('inflight'),
    leases: k('leases'),
    batchPrefix: k('batch:'),
    batch: (batchId) => k(`batch:${batchId}`),
    holds: k('holds'),
    held: k('held'),
    settled: (batchId) => k(`done:${batchId}`),
    sweepCursor: k('sweep'),
    delayed: k('delayed'),
    invalid: k('invalid'),
    failed: k('failed'),
    request: (requestId) => k(`request:${requestId}`),
    stats: k('stats'),
    workers: k('workers'),
    settledChannel: k('settled'),
    enqueueResult: (requestId) => k(`enqueue:${requestId}`),
    rate: (account) => ({ log: k(`rate:${account}:log`), state: k(`rate:${account}:state`) }),
    token: (account) => ({ lock: k(`token:${account}:lock`), value: k(`token:${account}:value`) }),
    propertySchema: (account, objectType) => k(`schema:${account}:${objectType}`),
  };
}

/** The group an update is batched in: one HubSpot endpoint of one account. */
export function groupOf(account: string, objectType: string): string {
  return `${account}|${objectType}`;
}

/** The parts of a group name built by {@link groupOf}. */
export function parseGroup(group: string): { account: string; objectType: string } {
  const at = group.indexOf('|');
  return at < 0
    ? { account: group, objectType: '' }
    : { account: group.slice(0, at), objectType: group.slice(at + 1) };
}

/**
 * The identity of one HubSpot object as addressed by updates. `id` comes last and the other parts may not
 * contain `|` (validated), so the key is unambiguous.
 */
export function objectKeyOf(
  account: string,
  objectType: string,
  idProperty: string | undefined,
  id: string,
): string {
  return `${account}|${objectType}|${idProperty ?? ''}|${id}`;
}

/** The parts of an object key built by {@link objectKeyOf}; `idProperty` only when the key has one. */
export function parseObjectKey(objectKey: string): {
  account: string;
  objectType: string;
  idProperty?: string;
  id: string;
} {
  const [account = '', objectType = '', idProperty = '', ...rest] = objectKey.split('|');
  return { account, objectType, ...(idProperty ? { idProperty } : {}), id: rest.join('|') };
}

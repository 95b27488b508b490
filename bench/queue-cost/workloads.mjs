// The two systems under test, driven the same way: our producer and worker, and plain BullMQ (Queue.addBulk and
// a Worker with a no-op processor) with the same job payloads on the same Redis.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import pino from 'pino';
import { deleteKeys } from './redis-util.mjs';

// QC_DIST: another build of the library (e.g. the main branch's `dist/`), so one run can measure two versions.
const lib = await import(
  process.env.QC_DIST
    ? pathToFileURL(`${process.env.QC_DIST.replace(/\/$/, '')}/index.js`).href
    : '../../dist/index.js'
);
const { createProducer, createQueueAdmin, createWorker, queueKeys } = lib;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const ACCOUNT = 'default';
export const TOKEN = 'bench';
export const OBJECT_TYPE = 'contacts';
export const FIRST_OBJECT_ID = 1_000_000;
/** Updates per producer call, for both systems (`enqueueMany` and `addBulk`). */
export const CALLER_CHUNK = 1000;

const quietLogger = pino({ level: 'warn' }, pino.destination(2));

/**
 * QC_WORKLOAD: `email` (the default) sets every contact's email, a unique value the queue keeps a mapping of for
 * as long as `ADDRESS_TTL_SECONDS`, so one record addressed two ways stays one object; `plain` sets properties
 * that are not unique (the first and last name only), the queue's core path without that mapping.
 */
export const WORKLOAD = process.env.QC_WORKLOAD === 'plain' ? 'plain' : 'email';

/**
 * `n` updates to distinct contacts, as the producer stores them (trace id and account filled in), so a BullMQ
 * job's `data` serialises to the very bytes of our job's `data`.
 */
export function makeUpdates(n, firstId = FIRST_OBJECT_ID) {
  return Array.from({ length: n }, (_, i) => ({
    objectType: OBJECT_TYPE,
    id: String(firstId + i),
    properties:
      WORKLOAD === 'plain'
        ? { firstname: `First${i}`, lastname: `Last${i}` }
        : { firstname: `First${i}`, lastname: `Last${i}`, email: `user${i}@example.com` },
    objectWriteTraceId: randomUUID(),
    account: ACCOUNT,
  }));
}

export const ourPattern = (queueName) => `${queueKeys(queueName).root}*`;
export const bullPattern = (queueName) => `bull:${queueName}:*`;

/**
 * Deletes every key of one system's queue: ours through the queue admin (forced: a crashed drain process may
 * leave a heartbeat that still looks alive), BullMQ's by its key pattern.
 */
export async function deleteQueue(redis, ours, queueName) {
  // A build from before the queue admin existed: its keys by pattern.
  if (ours && createQueueAdmin) await createQueueAdmin({ redis, queueName }).obliterate({ force: true });
  else await deleteKeys(redis, ours ? ourPattern(queueName) : bullPattern(queueName));
}

/** Our producer, connected and with its script loaded before any timing starts. */
export async function openProducer(redisUrl, queueName) {
  const producer = createProducer({ redis: redisUrl, queueName });
  await producer.getOutcome('warm-up');
  return producer;
}

export async function enqueueOurs(producer, updates) {
  const started = performance.now();
  for (let i = 0; i < updates.length; i += CALLER_CHUNK)
    await producer.enqueueMany(updates.slice(i, i + CALLER_CHUNK));
  return performance.now() - started;
}

export async function openBullQueue(connection, queueName) {
  const queue = new Queue(queueName, { connection });
  await queue.waitUntilReady();
  return queue;
}

/** `addBulk` in the same chunks; `customIds`: job id `t-<traceId>`, as our producer uses. */
export async function enqueueBull(queue, updates, customIds) {
  const started = performance.now();
  for (let i = 0; i < updates.length; i += CALLER_CHUNK) {
    const jobs = updates.slice(i, i + CALLER_CHUNK).map((u) => ({
      name: 'update',
      data: u,
      ...(customIds ? { opts: { jobId: `t-${u.objectWriteTraceId}` } } : {}),
    }));
    await queue.addBulk(jobs);
  }
  return performance.now() - started;
}

/** The settled counters of our stats hash. */
export async function settledCounts(redis, queueName) {
  const [succeeded, failed, superseded] = await redis.hmget(
    queueKeys(queueName).stats,
    'succeeded',
    'failed',
    'superseded',
  );
  return {
    succeeded: Number(succeeded ?? 0),
    failed: Number(failed ?? 0),
    superseded: Number(superseded ?? 0),
  };
}

/**
 * Starts one worker on a pre-enqueued backlog of `n` updates and times it until every update has a terminal
 * outcome (the stats hash's settled counters, polled every 5 ms). Returns `{ ms, counts, timedOut }`.
 * `defaults`: the worker as a user starts it (only the account, its budget and HubSpot's address given), else
 * with `lingerMs` and property validation off.
 */
export async function drainOurs({
  redisUrl,
  control,
  queueName,
  simUrl,
  n,
  lingerMs = 5,
  defaults = false,
  timeoutMs = 120_000,
}) {
  const worker = createWorker({
    redisUrl,
    queueName,
    accounts: { [ACCOUNT]: { token: TOKEN, maxRequests: 1e9, windowMs: 1000 } },
    hubspotBaseUrl: simUrl,
    ...(defaults ? {} : { validateProperties: false, batchLingerMs: lingerMs }),
    logger: quietLogger,
  });
  const started = performance.now();
  let counts;
  let timedOut = false;
  try {
    await worker.start();
    for (;;) {
      counts = await settledCounts(control, queueName);
      if (counts.succeeded + counts.failed + counts.superseded >= n) break;
      if (performance.now() - started > timeoutMs) {
        timedOut = true;
        break;
      }
      await sleep(5);
    }
    return { ms: performance.now() - started, counts, timedOut };
  } finally {
    await worker.close();
  }
}

/**
 * Starts a plain BullMQ worker with a no-op processor on a backlog of `n` jobs and times it until `n` jobs
 * completed (or failed). Returns `{ ms, completed, failed, timedOut }`. `removeOnComplete`: completed jobs are
 * deleted rather than kept (BullMQ's cheapest setting).
 */
export async function drainBull({
  connection,
  queueName,
  n,
  concurrency = 1,
  removeOnComplete = false,
  timeoutMs = 120_000,
}) {
  let completed = 0;
  let failed = 0;
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  const started = performance.now();
  const worker = new Worker(queueName, async () => {}, {
    connection,
    concurrency,
    ...(removeOnComplete ? { removeOnComplete: { count: 0 } } : {}),
  });
  const settle = () => {
    if (completed + failed >= n) finish(false);
  };
  worker.on('completed', () => {
    completed++;
    settle();
  });
  worker.on('failed', () => {
    failed++;
    settle();
  });
  worker.on('error', () => {});
  const timer = setTimeout(() => finish(true), timeoutMs);
  const timedOut = await finished;
  const ms = performance.now() - started;
  clearTimeout(timer);
  await worker.close();
  return { ms, completed, failed, timedOut };
}

/** A worker with production defaults (linger 250 ms), for the latency run. */
export function latencyWorker(redisUrl, queueName, simUrl) {
  return createWorker({
    redisUrl,
    queueName,
    accounts: { [ACCOUNT]: { token: TOKEN, maxRequests: 1e9, windowMs: 1000 } },
    hubspotBaseUrl: simUrl,
    validateProperties: false,
    logger: quietLogger,
  });
}

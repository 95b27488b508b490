import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import pino from 'pino';
import { createQueueAdmin, type QueueAdmin, type QueueAdminOptions } from '../../src/admin/queue-admin.js';
import { queueKeys } from '../../src/keys.js';
import { createProducer, type Producer } from '../../src/producer/producer.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import type { UpdateRequest } from '../../src/update.js';
import { createWorker, type Worker, type WorkerOptions } from '../../src/worker/index.js';
import { cleanupQueue, onCleanup, redisUrl, timeLeft, track, uniqueQueueName } from './resources.js';

export const TOKEN = 'test-token';

/** A simulator that is closed after the test. */
export async function testSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ seed: 42, ...options });
  const done = track('simulator');
  onCleanup(async () => {
    await sim.close();
    done();
  });
  return sim;
}

/** A unique queue, cleaned up after the test. */
export function testQueue(label?: string, shards = 1): string {
  const name = uniqueQueueName(label);
  cleanupQueue(name, shards);
  return name;
}

/**
 * A producer closed after the test. Its `waitForOutcomes` gives up before the test's own timeout would (its
 * default and any longer `timeoutMs` are cut to the time left), so a stuck update surfaces as a
 * `WaitTimeoutError` naming how many were still open rather than as a bare test timeout.
 */
export function testProducer(queueName: string): Producer {
  const producer = boundedWaits(createProducer({ redis: redisUrl(), queueName }));
  const done = track('producer');
  onCleanup(async () => {
    await producer.close();
    done();
  });
  return producer;
}

/** The admin of a queue (`outcomeTtlSeconds`, `accounts` as given) on its own connection, closed after the test. */
export function testAdmin(
  queueName: string,
  options: Omit<QueueAdminOptions, 'redis' | 'queueName'> = {},
): QueueAdmin {
  const admin = createQueueAdmin({ redis: redisUrl(), queueName, ...options });
  const done = track('queue admin');
  onCleanup(async () => {
    await admin.close();
    done();
  });
  return admin;
}

/** The producer with `waitForOutcomes` bounded by the running test's timeout. */
export function boundedWaits(producer: Producer): Producer {
  return {
    ...producer,
    waitForOutcomes: (ids, options = {}) =>
      producer.waitForOutcomes(ids, {
        ...options,
        timeoutMs: Math.min(options.timeoutMs ?? 60_000, timeLeft()),
      }),
  };
}

/** An in-process worker pointed at the simulator, closed after the test. */
export async function testWorker(
  queueName: string,
  sim: Simulator,
  options: Partial<WorkerOptions> = {},
): Promise<Worker> {
  const worker = createWorker({
    redisUrl: redisUrl(),
    queueName,
    accounts: { default: { token: TOKEN } },
    hubspotBaseUrl: sim.url,
    batchLingerMs: 50,
    backoffBaseMs: 50,
    backoffMaxMs: 500,
    ambiguousHoldMs: 1000,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...options,
  });
  const done = track('worker');
  onCleanup(async () => {
    await worker.close();
    done();
  });
  await worker.start();
  return worker;
}

/** The built binary, which tests spawn. */
export const CLI = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

/**
 * Runs the built CLI with `env` (plus PATH and REDIS_URL) and `input` on stdin; resolves with its exit code and
 * output instead of throwing on a non-zero exit.
 */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(input ?? '');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** A BullMQ `Queue` on the queue's keys, as a producer in another language would use it; closed after the test. */
export function testBullQueue(queueName: string): Queue {
  const queue = new Queue(queueName, {
    connection: { url: redisUrl() },
    prefix: queueKeys(queueName).bullPrefix,
  });
  const done = track('bullmq queue');
  onCleanup(async () => {
    await queue.close();
    done();
  });
  return queue;
}

/**
 * Enqueues as another client does (BullMQ's `addBulk`, job id `t-<traceId>`, the trace id and account in the data):
 * the jobs wait in BullMQ's wait list until a worker ingests them, where this library's producer files its updates
 * at once. Answers the trace ids, in order.
 */
export async function enqueueAsOtherClient(
  queueName: string,
  requests: ReadonlyArray<Omit<UpdateRequest, 'objectWriteTraceId'> & { objectWriteTraceId?: string }>,
): Promise<string[]> {
  const traces = requests.map((r) => r.objectWriteTraceId ?? randomUUID());
  await testBullQueue(queueName).addBulk(
    requests.map((r, i) => ({
      name: 'update',
      data: { ...r, account: r.account ?? 'default', objectWriteTraceId: traces[i] },
      opts: { jobId: `t-${traces[i]}` },
    })),
  );
  return traces;
}

/** A worker in its own process (built CLI), so tests can SIGKILL it; killed after the test if still alive. */
export function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'worker'], {
    env: {
      PATH: process.env.PATH ?? '',
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      AMBIGUOUS_HOLD_MS: '1000',
      REDIS_URL: redisUrl(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const done = track('worker process');
  const exited = once(child, 'exit');
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    done();
  });
  Object.defineProperty(child, 'output', { get: () => output });
  return child;
}

/**
 * Polls a condition until it holds (a condition wait, not a fixed sleep); fails after `timeoutMs`, or sooner
 * when the test's own timeout would cut the wait short (so the failure names what was awaited).
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 20, what = 'condition' } = {},
): Promise<void> {
  const left = timeLeft();
  const bound = Math.min(timeoutMs, left);
  const deadline = Date.now() + bound;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const cut = bound < timeoutMs ? ` (cut to ${bound} ms of ${timeoutMs} by the test's own timeout)` : '';
      throw new Error(`timed out waiting for ${what}${cut}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The `status` command against real Redis, through the built CLI: a queue with updates waiting, pending behind
 * a DAILY pause, in flight in a hung call, backing off after a 5xx, and failed with two categories, while a
 * worker runs. Both the table and `--json` are checked, and no token may appear in either.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { QueueStatus } from '../../src/admin/status.js';
import { queueKeys } from '../../src/keys.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import {
  CLI,
  TOKEN,
  testBullQueue,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { redisUrl, testRedis } from '../helpers/resources.js';

const run = promisify(execFile);

const TOKENS = { default: TOKEN, slow: 'slow-token', retry: 'retry-token', paused: 'paused-token' } as const;
const ACCOUNTS = {
  default: TOKENS.default,
  slow: TOKENS.slow,
  retry: TOKENS.retry,
  paused: { token: TOKENS.paused, maxRequests: 50, windowMs: 10_000, dailyLimit: 1000 },
};

async function status(queue: string, json: boolean): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, 'status', ...(json ? ['--json'] : [])], {
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: redisUrl(),
      QUEUE_NAME: queue,
      HUBSPOT_ACCOUNTS: JSON.stringify(ACCOUNTS),
    },
    timeout: 20_000,
  });
  for (const token of Object.values(TOKENS)) expect(stdout).not.toContain(token);
  return stdout;
}

const statusJson = async (queue: string) => JSON.parse(await status(queue, true)) as QueueStatus;

/** The row of a table whose first cell is `first`, split on runs of two or more spaces. */
function row(text: string, first: string): string[] | undefined {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/))
    .find((cells) => cells[0] === first);
}

describe('status command', () => {
  it('shows depth by state, oldest waiting age, budgets and pauses, failures by category and workers', async () => {
    const sim = await testSimulator();
    for (const token of Object.values(TOKENS)) {
      sim.createObjects(token, 'contacts', [{ id: '1000', properties: {} }]);
    }
    const queue = testQueue('status');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const producer = testProducer(queue);

    // Before any worker runs, everything waits: this producer's updates are pending at once, the other client's
    // job in BullMQ's wait list.
    const [good, missing, , retry] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { firstname: 'A' } },
      { objectType: 'contacts', id: '999999', properties: { firstname: 'B' } },
      { account: 'slow', objectType: 'contacts', id: '1000', properties: { firstname: 'C' } },
      { account: 'retry', objectType: 'contacts', id: '1000', properties: { firstname: 'D' } },
      { account: 'paused', objectType: 'contacts', id: '1000', properties: { firstname: 'E' } },
      { account: 'paused', objectType: 'contacts', id: '1001', properties: { firstname: 'F' } },
    ]);
    // A job from a producer in another language whose data cannot be routed.
    const [seconds] = await redis.time();
    await redis.hset(`${keys.jobPrefix}t-raw-1`, {
      name: 'update',
      data: '{"objectType":""}',
      timestamp: Number(seconds) * 1000,
    });
    await redis.lpush(keys.wait, 't-raw-1');

    const before = await statusJson(queue);
    expect(before.queue).toBe(queue);
    expect(before.depth).toEqual({ waiting: 1, pending: 6, inflight: 0, delayed: 0, invalid: 0 });
    expect(before.oldestWaitingAgeMs).toBeGreaterThanOrEqual(0);
    expect(before.oldestWaitingAgeMs).toBeLessThan(60_000);
    expect(before.workers).toEqual({ alive: 0, ids: [], stale: 0 });
    expect(before.accounts.map((a) => a.account)).toEqual(['default', 'slow', 'retry', 'paused']);
    const beforeTable = await status(queue, false);
    expect(row(beforeTable, 'waiting')).toEqual(['waiting', '1']);
    expect(row(beforeTable, 'pending')).toEqual(['pending', '6']);
    expect(beforeTable).toMatch(/Oldest waiting update: \d+(\.\d)? (ms|s) old/);

    // HubSpot said DAILY for `paused`; `slow`'s next call hangs; `retry`'s next call gets a 502.
    await new RateLimiter({ redis, keys }).pause('paused', {
      durationMs: 3_600_000,
      reason: 'daily',
      policyName: 'DAILY',
      detail: 'daily limit reached',
    });
    sim.failNext(1, 'hang', { hangMs: 60_000, portal: TOKENS.slow });
    sim.failNext(1, 'error5xx', { status: 502, portal: TOKENS.retry });
    const worker = await testWorker(queue, sim, {
      accounts: Object.fromEntries(
        Object.entries(ACCOUNTS).map(([name, a]) => [name, typeof a === 'string' ? { token: a } : a]),
      ),
      // Long enough that the 5xx'd update is still backing off, and the hung call is still out, when read.
      backoffBaseMs: 120_000,
      backoffMaxMs: 120_000,
      httpTimeoutMs: 120_000,
      shutdownTimeoutMs: 200,
    });
    expect(worker).toBeDefined();

    const ids = (r: { objectWriteTraceId: string } | undefined) => r?.objectWriteTraceId ?? '';
    await producer.waitForOutcomes([ids(good), ids(missing), 'raw-1'], { timeoutMs: 30_000 });
    await waitFor(async () => (await producer.getOutcome(ids(retry)))?.status === 'retrying', {
      what: 'the 5xx update to back off',
    });
    await waitFor(async () => Number(await redis.hget(keys.stats, 'inflight')) === 1, {
      what: 'the hung call in flight',
    });

    const after = await statusJson(queue);
    expect(after.depth).toEqual({ waiting: 0, pending: 2, inflight: 1, delayed: 1, invalid: 0 });
    // The paused account's two updates still wait, and they were enqueued before this read.
    expect(after.oldestWaitingAgeMs).toBeGreaterThan(0);
    expect(after.oldestWaitingAgeMs).toBeGreaterThanOrEqual(after.at - before.at);
    expect(after.failedByCategory).toEqual({ OBJECT_NOT_FOUND: 1, VALIDATION_ERROR: 1 });
    expect(after.outcomes).toEqual({ succeeded: 1, failed: 2, superseded: 0 });
    expect(after.workers.alive).toBe(1);
    expect(after.workers.ids).toHaveLength(1);

    const byName = new Map(after.accounts.map((a) => [a.account, a]));
    const pausedAccount = byName.get('paused');
    expect(pausedAccount).toMatchObject({
      budget: { maxRequests: 50, windowMs: 10_000, dailyLimit: 1000, dailyReserve: 0 },
      paused: true,
      pauseReason: 'daily',
      policyName: 'DAILY',
      detail: 'daily limit reached',
    });
    expect(pausedAccount?.pausedUntil).toBeGreaterThan(after.at + 3_500_000);
    const active = byName.get('default');
    expect(active).toMatchObject({ budget: { maxRequests: 100, windowMs: 10_000 }, paused: false });
    // Every call to the account's portal (the property schema, then the batch) took a grant, and HubSpot's
    // headers of the last one said how many calls the window had left.
    const calls = sim.calls().filter((c) => c.portal === TOKEN).length;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(active?.grantsInWindow).toBe(calls);
    // The limiter keeps a small margin below HubSpot's max for clock spread between replicas.
    expect(active?.effectiveMax).toBeGreaterThan(90);
    expect(active?.effectiveMax).toBeLessThanOrEqual(100);
    expect(active?.reportedRemaining).toBe(100 - calls);
    expect(active?.reportedMax).toBe(100);
    expect(active?.reportedDailyRemaining).toBeGreaterThan(0);
    expect(JSON.stringify(after)).not.toMatch(/token/i);

    const table = await status(queue, false);
    expect(row(table, 'pending')).toEqual(['pending', '2']);
    expect(row(table, 'inflight')).toEqual(['inflight', '1']);
    expect(row(table, 'delayed')).toEqual(['delayed', '1']);
    expect(row(table, 'invalid')).toEqual(['invalid', '0']);
    const header = row(table, 'ACCOUNT');
    expect(header).toEqual([
      'ACCOUNT',
      'BUDGET',
      'IN WINDOW',
      'STATE',
      'PAUSED UNTIL',
      'HUBSPOT REMAINING',
      'DAILY REMAINING',
      'TODAY',
    ]);
    const pausedRow = row(table, 'paused');
    expect(pausedRow?.[1]).toBe('50/10 s, 1000/day');
    expect(pausedRow?.[3]).toMatch(/^PAUSED \(daily DAILY\) for (59 m \d\d s|1 h 00 m)$/);
    expect(pausedRow?.[4]).toBe(new Date(pausedAccount?.pausedUntil ?? 0).toISOString());
    const defaultRow = row(table, 'default');
    expect(defaultRow?.slice(0, 4)).toEqual([
      'default',
      '100/10 s',
      `${calls}/${active?.effectiveMax}`,
      'active',
    ]);
    expect(defaultRow?.[5]).toBe(`${100 - calls}/100`);
    expect(table).toContain('  paused: daily limit reached');
    expect(row(table, 'OBJECT_NOT_FOUND')).toEqual(['OBJECT_NOT_FOUND', '1']);
    expect(row(table, 'VALIDATION_ERROR')).toEqual(['VALIDATION_ERROR', '1']);
    expect(table).toContain('Outcomes: 1 succeeded, 2 failed, 0 superseded');
    expect(table).toContain(`Workers alive: 1 (${after.workers.ids[0]})`);
    expect(table).toContain('Outcome records: compact\n');
    expect(after.recordFormat).toBe('compact');
    // Columns line up: every row of the account table starts its cells at the header's offsets.
    const lines = table.split('\n');
    const start = lines.findIndex((l) => l.startsWith('ACCOUNT'));
    const offsets = (l: string) => [...l.matchAll(/(?<=\s{2}|^)\S/g)].map((m) => m.index);
    for (const line of lines.slice(start + 1, start + 5)) {
      expect(offsets(line).slice(0, 3), line).toEqual(offsets(lines[start] ?? '').slice(0, 3));
    }
  });

  it('counts the jobs a BullMQ producer stranded with delay or priority, which the worker never reads', async () => {
    const queue = testQueue('status-stranded');
    const empty = await statusJson(queue);
    expect(empty.stranded).toEqual({ delayed: 0, prioritized: 0, waitingChildren: 0, paused: 0, total: 0 });
    expect(await status(queue, false)).toContain('Stranded: none\n');

    const bull = testBullQueue(queue);
    const update = (id: string) => ({ objectType: 'contacts', id, properties: { firstname: id } });
    await bull.add('update', update('1'), { jobId: 't-plain' });
    await bull.add('update', update('2'), { jobId: 't-later', delay: 3_600_000 });
    await bull.add('update', update('3'), { jobId: 't-urgent', priority: 1 });

    const after = await statusJson(queue);
    expect(after.stranded).toEqual({ delayed: 1, prioritized: 1, waitingChildren: 0, paused: 0, total: 2 });
    // The job without options waits like any other; the two stranded ones are not counted as waiting.
    expect(after.depth.waiting).toBe(1);
    const table = await status(queue, false);
    expect(table).toContain(
      'Stranded: 2 (BullMQ delay/priority options are not supported): 1 delayed, 1 prioritized\n',
    );
  });

  it('rejects unknown options', async () => {
    await expect(
      run(process.execPath, [CLI, 'status', '--jsn'], {
        env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl() },
      }),
    ).rejects.toMatchObject({
      code: 64,
      stderr: expect.stringMatching(
        /unknown flag "--jsn"[\s\S]*usage: hubspot-batch-queue status \[--json\]/,
      ),
    });
  });
});

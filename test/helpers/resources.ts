import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { createQueueAdmin } from '../../src/admin/queue-admin.js';

const open = new Map<number, string>();
let nextId = 1;

/** Registers something that must be closed before the test ends; returns the function that marks it closed. */
export function track(label: string): () => void {
  const id = nextId++;
  open.set(id, label);
  return () => {
    open.delete(id);
  };
}

/** What was registered and never marked closed, forgotten once read so a later test is not blamed for it. */
export function takeOpenResources(): string[] {
  const labels = [...open.values()];
  open.clear();
  return labels;
}

let deadline = Number.POSITIVE_INFINITY;

/** Called by the shared beforeEach with the running test's own timeout. */
export function startTestClock(timeoutMs: number): void {
  deadline = Date.now() + timeoutMs;
}

/**
 * How long a wait inside the running test may still take: the time to its timeout less `marginMs`, so the
 * wait fails with its own message (what it waited for) before the runner's bare "test timed out" does.
 */
export function timeLeft(marginMs = 2_000): number {
  return Math.max(0, deadline - Date.now() - marginMs);
}

/** The Redis URL chosen by the global setup. */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A fresh queue name, unique to this test. */
export function uniqueQueueName(label = 'test'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A tracked ioredis connection, closed automatically after the test. */
export function testRedis(): Redis {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null, lazyConnect: false });
  const done = track('redis connection');
  cleanups.push(async () => {
    await redis.quit().catch(() => redis.disconnect());
    done();
  });
  return redis;
}

const cleanups: Array<() => Promise<void>> = [];

/** Runs `fn` after the current test, before the leak check (cleanups run in reverse order). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(async () => {
    await fn();
  });
}

/**
 * Deletes every key of a queue after the test. Forced: a worker process the test killed leaves a heartbeat
 * that still looks alive.
 */
export function cleanupQueue(queueName: string, shards = 1): void {
  onCleanup(async () => {
    const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    try {
      await createQueueAdmin({ redis, queueName, shards }).obliterate({ force: true });
    } finally {
      await redis.quit();
    }
  });
}

/**
 * Runs every registered cleanup, newest first; called by the shared afterEach before the leak check. One that
 * fails does not stop the others (it would leave their resources open too); the failures are thrown after all ran.
 */
export async function runCleanups(): Promise<void> {
  const fns = cleanups.splice(0).reverse();
  const errors: unknown[] = [];
  for (const fn of fns) {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanups failed`);
}

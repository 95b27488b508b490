import { appendFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import {
  absorb,
  countResources,
  describeGrowth,
  type Growth,
  type ResourceCounts,
  settle,
} from './active-resources.js';
import { describeHandles, handleSnapshot, pendingTimers } from './resource-origins.js';
import { runCleanups, startTestClock, takeOpenResources } from './resources.js';

// Each test must leave the process's live handles (sockets, servers, timers, child processes, file requests) as
// it found them once its cleanups ran: a test that leaves a worker, connection, server or timer open fails, so a
// leak is found where it starts. The file-level pair catches what beforeAll hooks open and never close.
//
// LEAK_TRACE=<file> appends one JSON line per test whose resources took more than SLOW_MS to settle (what was
// still open then, and how long it took): close paths that work but slowly.
const TRACE = process.env.LEAK_TRACE;
const SLOW_MS = 200;

let fileBaseline: ResourceCounts = new Map();
let testBaseline: ResourceCounts = new Map();
let testHandles: ReadonlySet<unknown> = new Set();
let testStart = 0;

beforeAll(() => {
  fileBaseline = countResources();
});

beforeEach(({ task }) => {
  startTestClock(task.timeout);
  testBaseline = countResources();
  testHandles = handleSnapshot();
  testStart = Date.now();
});

/** What is still open beyond the baseline, by address or creation site where known. */
function origins(): string[] {
  return [...describeHandles(testHandles), ...pendingTimers(testStart)];
}

async function settleTest(): Promise<Growth[]> {
  const timersSince = testStart;
  if (!TRACE) return settle(testBaseline, { timersSince });
  const started = Date.now();
  const early = await settle(testBaseline, { timeoutMs: SLOW_MS, timersSince });
  if (early.length === 0) return early;
  const slow = { growth: describeGrowth(early), open: origins() };
  const grown = await settle(testBaseline, { timeoutMs: 2_000 - SLOW_MS, timersSince });
  const test = `${expect.getState().testPath} > ${expect.getState().currentTestName}`;
  appendFileSync(TRACE, `${JSON.stringify({ test, settleMs: Date.now() - started, ...slow, grown })}\n`);
  return grown;
}

afterEach(async () => {
  let cleanupError: unknown;
  await runCleanups().catch((err: unknown) => {
    cleanupError = err;
  });
  const grown = await settleTest();
  // Reported once, here, not again by the file-level check.
  fileBaseline = absorb(fileBaseline, grown);
  const registered = takeOpenResources();
  const parts = [
    ...(grown.length > 0 ? [`still active after the test: ${describeGrowth(grown)}`] : []),
    ...(registered.length > 0 ? [`never marked closed: ${registered.join(', ')}`] : []),
  ];
  const where = grown.length > 0 ? origins() : [];
  const message = `resources left open: ${parts.join('; ')}${where.map((w) => `\n  ${w}`).join('')}`;
  if (cleanupError !== undefined) {
    if (parts.length > 0) throw new AggregateError([cleanupError, new Error(message)], 'a cleanup failed');
    throw cleanupError;
  }
  expect(parts, message).toEqual([]);
});

afterAll(async () => {
  const grown = await settle(fileBaseline);
  expect(grown, `resources left open by the file's hooks: ${describeGrowth(grown)}`).toEqual([]);
});

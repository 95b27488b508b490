import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { absorb, baseline, describeGrowth, type ResourceCounts, settle } from './active-resources.js';
import { runCleanups, takeOpenResources } from './resources.js';

// Each test must leave the process's live handles (sockets, servers, timers, child processes, file requests) as
// it found them once its cleanups ran: a test that leaves a worker, connection, server or timer open fails, so a
// leak is found where it starts. The file-level pair catches what beforeAll hooks open and never close.
let fileBaseline: ResourceCounts = new Map();
let testBaseline: ResourceCounts = new Map();

beforeAll(async () => {
  fileBaseline = await baseline();
});

beforeEach(async () => {
  testBaseline = await baseline();
});

afterEach(async () => {
  let cleanupError: unknown;
  await runCleanups().catch((err: unknown) => {
    cleanupError = err;
  });
  const grown = await settle(testBaseline);
  // Reported once, here, not again by the file-level check.
  fileBaseline = absorb(fileBaseline, grown);
  const registered = takeOpenResources();
  const parts = [
    ...(grown.length > 0 ? [`still active after the test: ${describeGrowth(grown)}`] : []),
    ...(registered.length > 0 ? [`never marked closed: ${registered.join(', ')}`] : []),
  ];
  const message = `resources left open: ${parts.join('; ')}`;
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

import { describe, expect, it } from 'vitest';
import {
  aheadDecision,
  type NextBatchInput,
  nextBatch,
  passOrder,
  passSleepMs,
  rotate,
  waitsForResolution,
} from '../../src/worker/schedule.js';

const base: NextBatchInput = {
  remaining: 100,
  interactive: 0,
  first: true,
  oldestEnqueuedAt: 1_000,
  now: 2_000,
  waiting: 0,
  lingerMs: 250,
  maxBatchSize: 100,
  blockedForMs: 0,
  inflightOfAccount: 0,
  accountLimit: 10,
  inflightTotal: 0,
  concurrency: 100,
};

describe('rotate', () => {
  it('starts at the rotation and wraps around, visiting every group once', () => {
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 5)).toEqual(['c', 'a', 'b']);
    expect(rotate([], 3)).toEqual([]);
  });
});

describe('nextBatch', () => {
  it('claims a full batch whatever its age', () => {
    expect(nextBatch({ ...base, oldestEnqueuedAt: 1_999, first: false })).toEqual({ kind: 'claim' });
  });

  it('stops when the worker is full, before anything else', () => {
    expect(nextBatch({ ...base, inflightTotal: 100, blockedForMs: 50 })).toEqual({ kind: 'stop' });
  });

  it('stops with a wake-up when the account is known to be out of budget', () => {
    expect(nextBatch({ ...base, blockedForMs: 40 })).toEqual({ kind: 'stop', sleepMs: 40 });
  });

  it('stops when the account has as many batches in flight as it may', () => {
    expect(nextBatch({ ...base, inflightOfAccount: 10 })).toEqual({ kind: 'stop' });
  });

  it('sends a partial batch only once it lingered and nothing is left to ingest', () => {
    const partial = { ...base, remaining: 3 };
    expect(nextBatch(partial)).toEqual({ kind: 'claim' });
    expect(nextBatch({ ...partial, waiting: 5 })).toEqual({ kind: 'stop' });
    expect(nextBatch({ ...partial, now: 1_100 })).toEqual({ kind: 'stop', sleepMs: 150 });
  });

  it('never sends a second partial batch of a group in one pass', () => {
    expect(nextBatch({ ...base, remaining: 3, first: false })).toEqual({ kind: 'stop' });
  });
});

describe('nextBatch with interactive work', () => {
  const partial = { ...base, remaining: 3, oldestEnqueuedAt: 1_900 };

  it('claims a partial batch at once, without lingering or waiting for the wait list', () => {
    expect(nextBatch(partial)).toEqual({ kind: 'stop', sleepMs: 150 });
    expect(nextBatch({ ...partial, interactive: 1 })).toEqual({ kind: 'claim' });
    expect(nextBatch({ ...partial, interactive: 1, waiting: 5_000 })).toEqual({ kind: 'claim' });
  });

  it('claims a further partial batch of the pass while interactive objects are left', () => {
    expect(nextBatch({ ...partial, first: false })).toEqual({ kind: 'stop' });
    expect(nextBatch({ ...partial, first: false, interactive: 2 })).toEqual({ kind: 'claim' });
  });

  it('reserves nothing: the worker, the account limit and the budget bind interactive work as they bind bulk', () => {
    const urgent = { ...partial, interactive: 1 };
    expect(nextBatch({ ...urgent, inflightTotal: 100 })).toEqual({ kind: 'stop' });
    expect(nextBatch({ ...urgent, inflightOfAccount: 10 })).toEqual({ kind: 'stop' });
    expect(nextBatch({ ...urgent, blockedForMs: 40 })).toEqual({ kind: 'stop', sleepMs: 40 });
  });
});

describe('passOrder', () => {
  type G = { name: string; account: string; interactive: boolean };
  const g = (name: string, interactive = false): G => ({ name, account: name[0] ?? '', interactive });
  const order = (groups: G[], rotation: number) =>
    passOrder(
      groups,
      rotation,
      (x) => x.account,
      (x) => x.interactive,
    ).map((x) => x.name);

  it("puts an account's interactive groups first, in the places its groups held", () => {
    // Account a's groups sit at places 0 and 2, b's at 1 and 3: a's interactive a2 moves to a's first place.
    const groups = [g('a1'), g('b1'), g('a2', true), g('b2')];
    expect(order(groups, 0)).toEqual(['a2', 'b1', 'a1', 'b2']);
  });

  it("keeps the rotation across accounts: another account's interactive work does not jump ahead of it", () => {
    const groups = [g('a1'), g('b1', true), g('c1')];
    expect(order(groups, 0)).toEqual(['a1', 'b1', 'c1']);
    expect(order(groups, 2)).toEqual(['c1', 'a1', 'b1']);
  });

  it("gives every account its first group before any account's second, starting at another account each pass", () => {
    const groups = [g('a1'), g('a2'), g('a3'), g('b1'), g('c1'), g('c2')];
    expect(order(groups, 0)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
    // Rotation 1: accounts b, c, a, each account's own groups as they were (they turn once per round of accounts).
    expect(order(groups, 1)).toEqual(['b1', 'c1', 'a1', 'c2', 'a2', 'a3']);
    // Rotation 3: a round later, accounts a, b, c again, each account's groups rotated by one.
    expect(order(groups, 3)).toEqual(['a2', 'b1', 'c2', 'a3', 'c1', 'a1']);
  });

  it('lets every group lead a pass in turn, whatever the numbers of accounts and groups', () => {
    // The group a full worker visits first takes the slots that free: each must come first as often as the others.
    for (const [accounts, types] of [
      [2, 2],
      [3, 3],
      [6, 2],
      [1, 3],
      [4, 1],
    ] as const) {
      const groups = Array.from({ length: accounts * types }, (_, i) =>
        g(`${'abcdef'[i % accounts]}${Math.floor(i / accounts)}`),
      );
      const leads = new Map<string, number>();
      for (let rotation = 0; rotation < 2 * accounts * types; rotation++) {
        const first = order(groups, rotation)[0] as string;
        leads.set(first, (leads.get(first) ?? 0) + 1);
      }
      expect({ accounts, types, leads: [...leads.values()] }).toEqual({
        accounts,
        types,
        leads: groups.map(() => 2),
      });
    }
  });

  it('is a rotation of the groups for one account, and visits every group once whatever the rotation', () => {
    const one = [g('a1'), g('a2'), g('a3')];
    expect(order(one, 1)).toEqual(rotate(one, 1).map((x) => x.name));
    const groups = Array.from({ length: 40 }, (_, i) => g(`${'abcdefg'[i % 7]}${i}`, i % 5 === 0));
    for (let rotation = 0; rotation < 10; rotation++)
      expect([...order(groups, rotation)].sort()).toEqual(groups.map((x) => x.name).sort());
  });

  it('hands each account a turn in the first pass: an account with many groups does not go first for all of them', () => {
    // A thousand accounts' partial batches: 3 groups each, in the order Redis happens to list them.
    const groups = Array.from({ length: 300 }, (_, i) =>
      g(`${String.fromCharCode(65 + ((i * 7) % 100))}${i}`),
    );
    const first = order(groups, 3).slice(0, new Set(groups.map((x) => x.account)).size);
    expect(new Set(first.map((x) => x[0])).size).toBe(first.length);
  });
});

describe('waitsForResolution', () => {
  const wait = { unresolvedAddresses: 3, oldestEnqueuedAt: 1_000, now: 1_100, lingerMs: 250, graceMs: 3_000 };

  it('waits for addresses within the grace time, but never holds interactive work', () => {
    expect(waitsForResolution(wait)).toBe(true);
    expect(waitsForResolution({ ...wait, interactiveObjects: 1 })).toBe(false);
  });
});

describe('aheadDecision', () => {
  const opts = { waiting: 0, target: 2, maxWaitMs: 150, recheckMs: 1000 };

  it('claims when the account has no budget to check or its budget is free', () => {
    expect(aheadDecision(opts)).toEqual({ kind: 'claim' });
    expect(aheadDecision({ ...opts, look: { granted: true } })).toEqual({ kind: 'claim' });
  });

  it('claims ahead when the window frees up within the limit, and waits when it frees up later', () => {
    expect(aheadDecision({ ...opts, look: { granted: false, waitMs: 150, reason: 'window' } })).toEqual({
      kind: 'claim',
    });
    expect(aheadDecision({ ...opts, look: { granted: false, waitMs: 151, reason: 'window' } })).toEqual({
      kind: 'wait',
      ms: 1,
      blocked: true,
    });
  });

  it('waits for a later slot only until it is maxWaitMs away, so the batch is claimed and prepared before it opens', () => {
    expect(aheadDecision({ ...opts, look: { granted: false, waitMs: 400, reason: 'window' } })).toEqual({
      kind: 'wait',
      ms: 250,
      blocked: true,
    });
  });

  it('looks at a pause again at least every recheck, since it can be lifted early', () => {
    expect(aheadDecision({ ...opts, look: { granted: false, waitMs: 60_000, reason: 'auth' } })).toEqual({
      kind: 'wait',
      ms: 1000,
      blocked: true,
    });
    expect(aheadDecision({ ...opts, look: { granted: false, waitMs: 20, reason: 'auth' } })).toEqual({
      kind: 'wait',
      ms: 20,
      blocked: true,
    });
  });

  it('does not claim more batches ahead than the target, without marking the account blocked', () => {
    expect(aheadDecision({ ...opts, waiting: 2, look: { granted: true } })).toEqual({
      kind: 'wait',
      ms: 150,
      blocked: false,
    });
  });
});

describe('passSleepMs', () => {
  it('goes on at once after dispatching with room left, else sleeps as asked', () => {
    expect(passSleepMs({ dispatched: 1, inflightTotal: 5, concurrency: 10, sleepMs: 500 })).toBe(0);
    expect(passSleepMs({ dispatched: 1, inflightTotal: 10, concurrency: 10, sleepMs: 500 })).toBe(500);
    expect(passSleepMs({ dispatched: 0, inflightTotal: 0, concurrency: 10, sleepMs: 500 })).toBe(500);
  });

  it('goes on at once while the wait list holds jobs and the pass moved some, even with nothing dispatched', () => {
    const idle = { dispatched: 0, inflightTotal: 0, concurrency: 10, sleepMs: 1000 };
    expect(passSleepMs({ ...idle, ingested: 1000, waiting: 59_000 })).toBe(0);
    expect(passSleepMs({ ...idle, inflightTotal: 10, ingested: 1000, waiting: 1 })).toBe(0);
    // Nothing moved (every job of the list taken by another replica meanwhile, say), or nothing left: as asked.
    expect(passSleepMs({ ...idle, ingested: 0, waiting: 59_000 })).toBe(1000);
    expect(passSleepMs({ ...idle, ingested: 1000, waiting: 0 })).toBe(1000);
  });
});

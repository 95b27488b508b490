import { describe, expect, it } from 'vitest';
import {
  accountLimit,
  aheadTarget,
  CallDemand,
  INITIAL_LATENCY_MS,
  inflightTarget,
} from '../../src/worker/demand.js';

describe('calls in flight follow demand (Little’s law)', () => {
  it('keeps rate × latency in flight, with headroom, so slow answers do not cap the rate', () => {
    // 250 per 10 s answered in 2 s: 50 calls are out on average.
    expect(inflightTarget({ maxRequests: 250, windowMs: 10_000 }, 2000)).toBe(102);
    // 100 per 10 s answered in 30 ms: a few.
    expect(inflightTarget({ maxRequests: 100, windowMs: 10_000 }, 30)).toBe(3);
  });

  it('learns each account’s latency from its answers, starting generous', () => {
    const demand = new CallDemand();
    expect(demand.latencyMs('a')).toBe(INITIAL_LATENCY_MS);
    demand.recordLatency('a', 2000);
    expect(demand.latencyMs('a')).toBe(2000);
    for (let i = 0; i < 50; i++) demand.recordLatency('a', 100);
    expect(demand.latencyMs('a')).toBeCloseTo(100, 0);
    demand.recordLatency('a', Number.NaN);
    demand.recordLatency('a', -5);
    expect(demand.latencyMs('a')).toBeCloseTo(100, 0);
    expect(demand.latencyMs('b')).toBe(INITIAL_LATENCY_MS);
  });

  it('sends one call of an account until one is answered, then rate × latency', () => {
    const demand = new CallDemand();
    const rate = { maxRequests: 250, windowMs: 10_000 };
    expect(demand.target('a', rate)).toBe(1);
    demand.recordLatency('a', 2000);
    expect(demand.target('a', rate)).toBe(102);
    expect(demand.target('b', rate)).toBe(1);
  });

  it('claims more batches ahead of their grant when slots come faster', () => {
    expect(aheadTarget({ maxRequests: 100, windowMs: 10_000 })).toBe(1);
    expect(aheadTarget({ maxRequests: 250, windowMs: 10_000 })).toBe(3);
    expect(aheadTarget({ maxRequests: 1, windowMs: 10_000 })).toBe(1);
  });

  it('caps an account at its target and the ceiling, leaving other accounts at least an even share', () => {
    const alone = { reserve: 10, accounts: 1 };
    expect(accountLimit({ target: 10, ceiling: 100, readyAccounts: 1, othersInflight: 0, ...alone })).toBe(
      10,
    );
    expect(accountLimit({ target: 500, ceiling: 100, readyAccounts: 1, othersInflight: 0, ...alone })).toBe(
      100,
    );
    // Two accounts: a greedy one takes what the other leaves, but never the other's share.
    const two = { reserve: 0, accounts: 2 };
    expect(accountLimit({ target: 500, ceiling: 100, readyAccounts: 2, othersInflight: 10, ...two })).toBe(
      90,
    );
    expect(accountLimit({ target: 500, ceiling: 100, readyAccounts: 2, othersInflight: 90, ...two })).toBe(
      50,
    );
    expect(accountLimit({ target: 0, ceiling: 100, readyAccounts: 2, othersInflight: 0, ...two })).toBe(1);
  });

  it('keeps the reserve of the ceiling for the other accounts even before they have work, at most half of it', () => {
    const options = { target: 500, ceiling: 8, readyAccounts: 1, othersInflight: 0, accounts: 2 };
    expect(accountLimit({ ...options, reserve: 2 })).toBe(6);
    expect(accountLimit({ ...options, reserve: 100 })).toBe(4);
    expect(accountLimit({ ...options, reserve: 0 })).toBe(8);
    expect(accountLimit({ ...options, ceiling: 1, reserve: 2 })).toBe(1);
  });
});

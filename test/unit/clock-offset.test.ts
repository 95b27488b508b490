import { describe, expect, it } from 'vitest';
import { ClockOffset } from '../../src/ratelimit/clock-offset.js';

describe('ClockOffset', () => {
  it('keeps the smallest sample: the reply that came back quickest', () => {
    const offset = new ClockOffset();
    expect(offset.observe(12, 0)).toBe(12);
    expect(offset.observe(3, 10)).toBe(3);
    expect(offset.observe(40, 20)).toBe(3);
  });

  it('takes a smaller offset at its first sample and forgets old ones after one to two minutes', () => {
    const offset = new ClockOffset();
    expect(offset.observe(5, 0)).toBe(5);
    // The clock moved (a failover to another Redis host): larger samples only.
    expect(offset.observe(50, 61_000)).toBe(5);
    expect(offset.observe(50, 122_000)).toBe(50);
    // A smaller one is taken at once.
    expect(offset.observe(-20, 123_000)).toBe(-20);
  });
});

import { describe, expect, it } from 'vitest';
import { WorkerSlots } from '../../src/worker/slots.js';

describe('WorkerSlots', () => {
  const loop = (slots: WorkerSlots) => {
    const state = { inflight: 0, wakes: 0 };
    const share = slots.join(
      () => state.inflight,
      () => {
        state.wakes++;
      },
    );
    return { state, share };
  };

  it('counts the batches of every loop that joined', () => {
    const slots = new WorkerSlots();
    const a = loop(slots);
    const b = loop(slots);
    a.state.inflight = 3;
    b.state.inflight = 1;
    expect(a.share.inUse()).toBe(4);
    expect(b.share.inUse()).toBe(4);
  });

  it('wakes, when a batch ends, only the other loops that starved, and each once', () => {
    const slots = new WorkerSlots();
    const a = loop(slots);
    const b = loop(slots);
    const c = loop(slots);
    b.share.starved();
    a.share.starved();
    a.share.freed();
    expect([a.state.wakes, b.state.wakes, c.state.wakes]).toEqual([0, 1, 0]);
    // b's starvation was answered: another end does not wake it again until it starves again.
    a.share.freed();
    expect(b.state.wakes).toBe(1);
    // a starved too, and is woken when another loop frees a slot.
    b.share.freed();
    expect(a.state.wakes).toBe(1);
  });

  it('counts a claim on its way as a slot taken, until it answers or fails', async () => {
    const slots = new WorkerSlots();
    const a = loop(slots);
    const b = loop(slots);
    let answer: () => void = () => {};
    const pending = a.share.claiming(() => new Promise<void>((r) => (answer = r)));
    expect(b.share.inUse()).toBe(1);
    answer();
    await pending;
    expect(b.share.inUse()).toBe(0);
    await expect(b.share.claiming(() => Promise.reject(new Error('lost')))).rejects.toThrow('lost');
    expect(a.share.inUse()).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { groupOf } from '../../src/keys.js';
import { CallDemand } from '../../src/worker/demand.js';
import type { ClaimResult } from '../../src/worker/dispatcher.js';
import { LoopPass } from '../../src/worker/pass.js';
import { WorkerSlots } from '../../src/worker/slots.js';

/**
 * Two shards' loops of one worker sharing its slots, each pass over plain-data ports: one group of the loop's
 * account holding a full batch, and a claim answered by `claim`.
 */
function shardLoop(slots: WorkerSlots, account: string, claim: () => Promise<ClaimResult>) {
  const state = { wakes: 0 };
  const share = slots.join(
    () => 0,
    () => {
      state.wakes++;
    },
  );
  const pass = new LoopPass({
    store: {
      ingest: async () => ({ moved: 0, invalid: 0, duplicates: 0, waiting: 0, interactive: 0 }),
      ready: async () => ({
        now: Date.now(),
        waiting: 0,
        groups: [
          {
            group: groupOf(account, 'contacts'),
            pendingObjects: 50,
            oldestEnqueuedAt: Date.now() - 10_000,
            unresolvedAddresses: 0,
            interactiveObjects: 0,
          },
        ],
      }),
    },
    housekeeping: { run: async () => 1000, gauges: async () => {} },
    dispatcher: { inflightOf: () => 0, blockedForMs: () => 0, claimAndDispatch: claim },
    resolver: { kick: () => {} },
    demand: new CallDemand(),
    slots: share,
    budgetFor: () => undefined,
    lingerMs: 50,
    maxBatchSize: 10,
    concurrency: 1,
    accountReserve: 0,
    accounts: 2,
    running: () => true,
  });
  return { state, pass };
}

describe('a pass with slots shared by shards', () => {
  it("wakes a loop that starved when another loop's claim comes back with nothing", async () => {
    const slots = new WorkerSlots();
    let answer: (r: ClaimResult) => void = () => {};
    let claimSent: () => void = () => {};
    const sent = new Promise<void>((r) => (claimSent = r));
    const b = shardLoop(slots, 'b', () => {
      claimSent();
      return new Promise<ClaimResult>((r) => (answer = r));
    });
    const a = shardLoop(slots, 'a', async () => ({ kind: 'ok', objects: 10 }));
    // b's claim is on its way and holds the only slot; a's pass finds none free and starves.
    const bPass = b.pass.run();
    await sent;
    expect(await a.pass.run()).toBe(1000);
    answer({ kind: 'none' });
    await bPass;
    // The slot is free again and a was told at once, not at its next housekeeping tick.
    expect(a.state.wakes).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { failUnresolved } from '../../src/admin/fail-unresolved.js';
import { addressKeyOf, groupOf, queueKeys } from '../../src/keys.js';
import type { UpdateRequest } from '../../src/update.js';
import { AddressStore } from '../../src/worker/addresses.js';
import { QueueStore } from '../../src/worker/store.js';
import {
  TOKEN,
  testAdmin,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
  waitFor,
} from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

const REASON = 'customer disconnected';
const GONE = groupOf('gone', 'contacts');
const KEPT = groupOf('default', 'contacts');

/** A queue with the worker's store and address store on one connection, but no worker: nothing is resolved. */
function queue(label: string) {
  const queueName = testQueue(label);
  const redis = testRedis();
  const keys = queueKeys(queueName);
  return {
    queueName,
    redis,
    keys,
    producer: testProducer(queueName),
    admin: testAdmin(queueName, { outcomeTtlSeconds: 600 }),
    store: new QueueStore({ redis, keys, outcomeTtlSeconds: 600 }),
    addresses: new AddressStore({ redis, keys, mapTtlSeconds: 600, outcomeTtlSeconds: 600, maxAttempts: 5 }),
  };
}

const byEmail = (account: string, email: string, firstname: string): UpdateRequest => ({
  ...(account === 'default' ? {} : { account }),
  objectType: 'contacts',
  idProperty: 'email',
  id: email,
  properties: { firstname },
});

describe('fail-account fails the account’s updates waiting for their address to be resolved', () => {
  it('updates addressed by email with no record known yet are failed, counted and never sent', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [
      { id: '1000', properties: { email: 'a@example.com' } },
      { id: '2000', properties: { email: 'k@example.com' } },
    ]);
    const q = queue('fa-unres');
    const k = q.keys;
    const traces = (
      await q.producer.enqueueMany([
        byEmail('gone', 'a@example.com', 'A1'),
        byEmail('default', 'k@example.com', 'K1'),
        byEmail('gone', 'A@Example.com', 'A2'),
        // The interactive lane's mark travels in the entry and the outcome says so.
        { ...byEmail('gone', 'b@example.com', 'B1'), priority: 'interactive' },
      ])
    ).map((r) => r.objectWriteTraceId);
    const [a1, k1, a2, b1] = traces as [string, string, string, string];
    // Filed at enqueue (nothing is left to ingest), and no batch/read runs: every update waits in its address's list.
    expect((await q.store.ingest(100)).moved).toBe(0);
    const addrA = addressKeyOf('gone', 'contacts', 'email', 'a@example.com');
    const addrB = addressKeyOf('gone', 'contacts', 'email', 'b@example.com');
    const addrK = addressKeyOf('default', 'contacts', 'email', 'k@example.com');
    expect(await q.redis.llen(k.unresolved(addrA))).toBe(2);
    expect(await q.redis.hget(k.stats, 'pending')).toBe('4');

    expect(await q.admin.failAccount('gone', { dryRun: true })).toEqual({ failed: 3, inFlight: 0 });
    expect(await q.redis.zcard(k.unresolvedAddresses(GONE)), 'a dry run changes nothing').toBe(2);
    const result = await q.admin.failAccount('gone', { reason: REASON });
    const outcomes = await q.producer.getOutcomes([a1, a2, b1]);
    console.info(
      `fail-account reported ${JSON.stringify(result)}; outcomes ${outcomes.map((o) => o?.status)}`,
    );
    expect(result).toEqual({ failed: 3, inFlight: 0 });
    expect(outcomes.map((o) => o?.id)).toEqual(['a@example.com', 'A@Example.com', 'b@example.com']);
    for (const o of outcomes) {
      expect(o).toMatchObject({
        status: 'failed',
        account: 'gone',
        objectType: 'contacts',
        idProperty: 'email',
        attempts: 0,
        error: { category: 'OPERATOR_FAILED', message: REASON },
      });
    }
    expect(outcomes.map((o) => o?.priority)).toEqual([undefined, undefined, 'interactive']);
    // Taken off their lists and the group's zset; the other account's update still waits for its address.
    expect(await q.redis.exists(k.unresolved(addrA), k.unresolved(addrB))).toBe(0);
    expect(await q.redis.zrange(k.unresolvedAddresses(GONE), 0, -1)).toEqual([]);
    expect(await q.redis.zrange(k.unresolvedAddresses(KEPT), 0, -1)).toEqual([addrK]);
    expect(await q.redis.hget(k.stats, 'pending')).toBe('1');
    expect(await q.redis.hget(k.stats, 'failed')).toBe('3');
    expect(await q.redis.hget(k.stats, 'failed:OPERATOR_FAILED')).toBe('3');
    expect(await q.redis.zcard(k.failed)).toBe(3);
    // Kept for replay with the sequence ingest gave them.
    const seqs = await Promise.all([a1, a2].map((t) => q.redis.hget(`${k.jobPrefix}t-${t}`, 'seq')));
    expect(Number(seqs[0])).toBeLessThan(Number(seqs[1]));

    // HubSpot's answer arrives late (what the resolver does with a batch/read): both emails name records.
    await q.addresses.resolve(GONE, [{ address: addrA, recordId: '1000' }]);
    await q.addresses.resolve(KEPT, [{ address: addrK, recordId: '2000' }]);
    await testWorker(q.queueName, sim, {
      accounts: { default: { token: TOKEN }, gone: { token: TOKEN } },
      validateProperties: false,
    });
    await q.producer.waitForOutcomes([k1]);
    // Until the queue holds nothing: what resolution moved to a record would have been claimed and sent by now.
    await waitFor(
      async () =>
        Number((await q.redis.hget(k.stats, 'pending')) ?? 0) === 0 &&
        Number((await q.redis.hget(k.stats, 'inflight')) ?? 0) === 0,
      { what: 'the queue to be empty' },
    );
    await sim.idle();
    expect(sim.getObject(TOKEN, 'contacts', '2000')?.properties.firstname).toBe('K1');
    expect(
      sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname ?? null,
      'nothing of gone sent',
    ).toBeNull();
    expect((await q.producer.getOutcomes([a1, a2, b1])).map((o) => o?.status)).toEqual([
      'failed',
      'failed',
      'failed',
    ]);
  });

  it('goes through long lists in bounded calls; a re-sent request reports its first run and fails nothing more', async () => {
    const q = queue('fa-unres-chunks');
    const k = q.keys;
    // One address with five updates, two with one, and one address of another account.
    const updates = [
      ...Array.from({ length: 5 }, (_, i) => byEmail('gone', 'many@example.com', `M${i}`)),
      byEmail('gone', 'one@example.com', 'O'),
      byEmail('gone', 'two@example.com', 'T'),
      byEmail('default', 'many@example.com', 'K'),
    ];
    const traces = (await q.producer.enqueueMany(updates)).map((r) => r.objectWriteTraceId);
    await q.store.ingest(100);

    expect(await q.admin.failAccount('gone', { dryRun: true, unresolvedChunk: 2 })).toEqual({
      failed: 7,
      inFlight: 0,
    });
    // Two updates per script call: the five of one address take three calls.
    const first = await q.admin.failAccount('gone', {
      reason: REASON,
      requestId: 'req-1',
      unresolvedChunk: 2,
    });
    const again = await q.admin.failAccount('gone', {
      reason: REASON,
      requestId: 'req-1',
      unresolvedChunk: 2,
    });
    const other = await q.admin.failAccount('gone', { reason: REASON, unresolvedChunk: 2 });
    expect(first).toEqual({ failed: 7, inFlight: 0 });
    expect(again, 'the same request reports its first run').toEqual(first);
    expect(other.failed).toBe(0);
    expect(await q.redis.hget(k.stats, 'failed:OPERATOR_FAILED')).toBe('7');
    expect(await q.redis.zcard(k.failed)).toBe(7);
    expect(await q.redis.hget(k.stats, 'pending')).toBe('1');
    expect(await q.redis.zcard(k.unresolvedAddresses(GONE))).toBe(0);
    const outcomes = await q.producer.getOutcomes(traces);
    expect(outcomes.map((o) => o?.status)).toEqual([...Array(7).fill('failed'), 'queued']);
    // One outcome each, in the stream too: no update was failed twice.
    const stream = await q.redis.xrange(k.outcomeStream, '-', '+');
    const streamed = stream.flatMap(([, fields]) => JSON.parse(fields[1] ?? '[]') as unknown[]);
    expect(streamed).toHaveLength(7);
    expect(
      await q.redis.llen(k.unresolved(addressKeyOf('default', 'contacts', 'email', 'many@example.com'))),
    ).toBe(1);
  });

  it('chunks neither skip nor repeat updates while resolution moves addresses to records and ingest adds more', async () => {
    const q = queue('fa-unres-moving');
    const k = q.keys;
    const emails = Array.from({ length: 6 }, (_, i) => `u${i}@example.com`);
    const before = (
      await q.producer.enqueueMany([
        ...emails.map((e, i) => byEmail('gone', e, `G${i}`)),
        byEmail('default', 'k@example.com', 'K'),
      ])
    ).map((r) => r.objectWriteTraceId);
    await q.store.ingest(100);
    const added: string[] = [];
    let passed = 0;
    let call = 0;
    let moved = 0;
    const scan = failUnresolved(testRedis(), k, 'gone', {
      message: REASON,
      outcomeTtlSeconds: 600,
      chunk: 1,
    });
    for await (const n of scan) {
      passed += n;
      // Between script calls a resolver finds the record of the newest first address still waiting, and a new
      // update arrives.
      const waiting = (await q.redis.zrange(k.unresolvedAddresses(GONE), 0, -1)).filter((a) =>
        a.includes('|u'),
      );
      const address = waiting.at(-1);
      if (address) await q.addresses.resolve(GONE, [{ address, recordId: String(5000 + call) }]);
      moved += address ? 1 : 0;
      const [late] = await q.producer.enqueueMany([byEmail('gone', `late${call++}@example.com`, 'L')]);
      added.push(late?.objectWriteTraceId ?? '');
      await q.store.ingest(100);
    }
    // What resolution moved waits in its record's list: the rest of the request fails it there.
    const rest = await q.admin.failAccount('gone', { reason: REASON });
    const gone = before.slice(0, emails.length);
    const outcomes = await q.producer.getOutcomes([...gone, ...added]);
    const failed = await q.redis.zcard(k.failed);
    console.info(
      `pass failed ${passed}, the request then ${rest.failed}; ${moved} resolved, ${added.length} enqueued meanwhile`,
    );
    expect(moved, 'resolution moved some to their record').toBeGreaterThan(0);
    expect(outcomes.map((o) => o?.status)).toEqual(Array(gone.length + added.length).fill('failed'));
    expect(passed + rest.failed, 'each update failed once').toBe(failed);
    expect(failed).toBe(gone.length + added.length);
    expect(await q.redis.hget(k.stats, 'pending')).toBe('1');
    expect(await q.redis.zcard(k.unresolvedAddresses(GONE))).toBe(0);
    expect(await q.redis.zcard(k.pending(GONE))).toBe(0);
    expect((await q.producer.getOutcome(before[emails.length] ?? ''))?.status).toBe('queued');
  });
});

/**
 * The producer files each update where it goes in the call that enqueues it (intake.lua): no job of this producer
 * waits in a wait list for a worker to ingest it, so a worker's first pass finds the backlog claimable, and the
 * per-update work of ingest (a pop, a read of the job, a second write) is not done at all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressKeyOf, groupOf, objectKeyOf, parseEntry, queueKeys } from '../../src/keys.js';
import { luaScript } from '../../src/lua.js';
import { routeOf } from '../../src/producer/route.js';
import { canonicalJobData, parseUpdate, type Update } from '../../src/update.js';
import { QueueStore } from '../../src/worker/store.js';
import { testAdmin, testProducer, testQueue } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

const GROUP = groupOf('default', 'contacts');

const probe = luaScript('routeProbe', new URL('../fixtures/route-probe.lua', import.meta.url), {
  keys: true,
  libs: ['job-data.lua', 'lanes.lua', 'entries.lua', 'intake.lua'],
});

/** Values a unique property may be given or addressed by: cases to fold, white space, empty, not a string. */
const VALUE = fc.constantFrom(
  'a@x.com',
  'B@X.COM',
  'ÉLODIE@Exemple.fr',
  'İstanbul@x.tr',
  'ΣΑΣ@x.gr',
  'ǅ@x.com',
  ' lead@x.com',
  'tab\t@x.com',
  'line\n@x.com',
  'nbsp\u00a0@x.com',
  '',
  'acme.com',
  'ID-7',
  42,
  null,
);

describe('the producer files updates at enqueue', () => {
  it('lists each update in its object, claimable in its lanes, counted pending, with nothing left to ingest', async () => {
    const queueName = testQueue('intake');
    const keys = queueKeys(queueName);
    const redis = testRedis();
    const producer = testProducer(queueName);
    const [bulk, urgent, other] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1', properties: { city: 'a' } },
      { objectType: 'contacts', id: '1', properties: { city: 'b' }, priority: 'interactive' },
      { objectType: 'contacts', id: '2', properties: { email: 'New@Example.com' } },
    ]);
    expect(await redis.llen(keys.wait)).toBe(0);
    expect(await redis.llen(keys.interactiveWait)).toBe(0);
    expect(await redis.hget(keys.stats, 'pending')).toBe('3');
    expect(await redis.smembers(keys.groups)).toEqual([GROUP]);

    const one = objectKeyOf('default', 'contacts', '', '1');
    const entries = (await redis.lrange(keys.objectUpdates(one), 0, -1)).map(parseEntry);
    expect(entries.map((e) => e.jobId)).toEqual([
      `t-${bulk?.objectWriteTraceId}`,
      `t-${urgent?.objectWriteTraceId}`,
    ]);
    expect(entries.map((e) => e.interactive === true)).toEqual([false, true]);
    const [first, second] = entries;
    expect(first?.seq).toBeLessThan(second?.seq ?? 0);
    // Scored by the oldest update (pending) and the oldest interactive one (interactive).
    const job = await redis.hmget(
      keys.job(`t-${bulk?.objectWriteTraceId}`),
      'timestamp',
      'seq',
      'ingestedAt',
    );
    expect(await redis.zscore(keys.pending(GROUP), one)).toBe(job[0]);
    expect(await redis.zscore(keys.interactive(GROUP), one)).toBe(String(second?.enqueuedAt));
    expect(job[1]).toBe(String(first?.seq));
    // Taken in when enqueued, on Redis's clock.
    expect(job[2]).toBe(job[0]);

    // An update that sets a unique value is indexed under the address it sets (resolve.lua waits for it).
    const address = addressKeyOf('default', 'contacts', 'email', 'new@example.com');
    const setter = `t-${other?.objectWriteTraceId}`;
    expect(await redis.hget(keys.job(setter), 'sets')).toBe(address);
    expect(await redis.smembers(keys.addressSetters(address))).toEqual([setter]);
  });

  it('routes every update as ingest would: the producer and intake.lua agree over odd but legal input', async () => {
    const redis = testRedis();
    const keys = queueKeys(testQueue('route-agree'));
    const requests = fc.record(
      {
        account: fc.constantFrom('default', 'acme', 'a.b@c', 'x+y=z/w', 'Ünicode'),
        objectType: fc.constantFrom('contacts', 'companies', 'deals', 'p_cars', '0-1'),
        idProperty: fc.constantFrom('email', 'domain', 'custom_id'),
        id: fc.constantFrom('123', 'ÉLODIE@Exemple.fr', 'a b@x.com', 'İ@x.tr', 'acme.com', 'x|y'),
        properties: fc.record(
          { email: VALUE, domain: VALUE, custom_id: VALUE, firstname: VALUE },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['objectType', 'id', 'properties'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(requests, { minLength: 1, maxLength: 20 }), async (batch) => {
        const updates = batch.map((r) => parseUpdate(r)).flatMap((p): Update[] => (p.ok ? [p.update] : []));
        fc.pre(updates.length > 0);
        const lua = (await probe.run(
          redis,
          [],
          [...keys.scriptArgs, ...updates.map(canonicalJobData)],
        )) as string[];
        const ours = updates.map((u) => {
          const r = routeOf(u);
          return r ? [r.group, r.objectKey, r.address, r.sets].join('\n') : '';
        });
        // The producer leaves an email beyond ASCII to ingest (the worker's Node folds it); every other route agrees.
        const beyondAscii = (u: Update) =>
          /[\u0080-\uffff]/.test(
            `${u.idProperty === 'email' ? u.id : ''}${(u.objectType === 'contacts' || u.idProperty === 'email') && typeof u.properties.email === 'string' ? u.properties.email : ''}`,
          );
        updates.forEach((u, i) => {
          expect(routeOf(u)?.toIngest).toBe(beyondAscii(u));
          expect(ours[i]).toBe(lua[i]);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('leaves an email beyond ASCII to ingest, whose Node folds its case as every worker script does', async () => {
    const queueName = testQueue('intake-unicode');
    const keys = queueKeys(queueName);
    const redis = testRedis();
    // Record 8's fence, as a settle leaves it once nothing of the record is queued.
    await redis.hset(keys.landed(objectKeyOf('default', 'contacts', '', '8')), 'firstname', '1');
    await redis.expire(keys.landed(objectKeyOf('default', 'contacts', '', '8')), 600);
    const [setter, byEmail] = await testProducer(queueName).enqueueMany([
      { objectType: 'contacts', id: '8', properties: { email: 'Élodie@Exemple.fr' } },
      { objectType: 'contacts', idProperty: 'email', id: 'ÉLODIE@exemple.fr', properties: { city: 'Lyon' } },
      { objectType: 'contacts', id: '9', properties: { email: 'plain@example.com' } },
    ]);
    expect(await redis.lrange(keys.wait, 0, -1)).toEqual(
      [byEmail, setter].map((r) => `t-${r?.objectWriteTraceId}`),
    );
    // A newer update of record 8 may be filed and land first: the fence is kept for the one left to ingest.
    expect(await redis.pttl(keys.landed(objectKeyOf('default', 'contacts', '', '8')))).toBe(-1);
    expect(await redis.hget(keys.stats, 'pending')).toBe('1');
    // Once ingested, both are keyed by the one folded address.
    const store = new QueueStore({ redis, keys, outcomeTtlSeconds: 600 });
    expect(await store.ingest(10)).toMatchObject({ moved: 2, waiting: 0 });
    const address = addressKeyOf('default', 'contacts', 'email', 'élodie@exemple.fr');
    expect(await redis.hget(keys.job(`t-${setter?.objectWriteTraceId}`), 'sets')).toBe(address);
    expect(await redis.llen(keys.unresolved(address))).toBe(1);
  });

  it('an update addressed by a value no record is known for waits for resolution; one for an object in flight waits for its batch', async () => {
    const queueName = testQueue('intake-wait');
    const keys = queueKeys(queueName);
    const redis = testRedis();
    const producer = testProducer(queueName);
    const busy = objectKeyOf('default', 'contacts', '', '7');
    // The object is in a batch: a new update of it joins its list, and settle makes it claimable again.
    await redis.hset(keys.inflight, busy, 'batch-elsewhere');
    const [byEmail, toBusy] = await producer.enqueueMany([
      { objectType: 'contacts', idProperty: 'email', id: 'Who@Example.com', properties: { city: 'x' } },
      { objectType: 'contacts', id: '7', properties: { city: 'y' } },
    ]);
    const address = addressKeyOf('default', 'contacts', 'email', 'who@example.com');
    const waiting = (await redis.lrange(keys.unresolved(address), 0, -1)).map((e) => parseEntry(e).jobId);
    expect(waiting).toEqual([`t-${byEmail?.objectWriteTraceId}`]);
    expect(await redis.zrange(keys.unresolvedAddresses(GROUP), 0, -1)).toEqual([address]);
    const listed = (await redis.lrange(keys.objectUpdates(busy), 0, -1)).map((e) => parseEntry(e).jobId);
    expect(listed).toEqual([`t-${toBusy?.objectWriteTraceId}`]);
    expect(await redis.zscore(keys.pending(GROUP), busy)).toBeNull();
    expect(await redis.hget(keys.stats, 'pending')).toBe('2');
    expect(await redis.smembers(keys.groups)).toEqual([GROUP]);
    // Both are counted and aged in `status`, the one waiting for its address too.
    await redis.hdel(keys.inflight, busy);
    await redis.zadd(keys.pending(GROUP), 1, busy);
    const status = await testAdmin(queueName).status();
    expect(status.depth).toMatchObject({ waiting: 0, pending: 2 });
    expect(status.oldestWaitingAgeMs).not.toBeNull();
    await redis.zrem(keys.pending(GROUP), busy);
    expect((await testAdmin(queueName).status()).oldestWaitingAgeMs).not.toBeNull();
  });
});

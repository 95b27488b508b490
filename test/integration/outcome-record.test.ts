/**
 * The outcome record Lua writes (finish.lua) is the one TypeScript reads, field for field; a record of the older
 * object shape, still in a queue written by an earlier version, still dedupes a reused trace id and names its
 * failure category to Lua; and with `record-format object` the queue writes that shape, for older producers.
 */
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { luaScript } from '../../src/lua.js';
import { parseStoredRecord, publicOutcome } from '../../src/outcomes/record.js';
import { shardQueueNames } from '../../src/shards.js';
import { canonicalJobData, fingerprint, parseUpdate } from '../../src/update.js';
import {
  runCli,
  TOKEN,
  testAdmin,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
} from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

const probe = luaScript('recordProbe', new URL('../fixtures/record-probe.lua', import.meta.url), {
  keys: true,
  libs: ['finish.lua'],
});

const ada = { objectType: 'contacts', id: '801', properties: { firstname: 'Ada' } };

describe('the outcome record', () => {
  it('Lua builds is read back with every fact it was given, and nothing else', async () => {
    const redis = testRedis();
    const keys = queueKeys(testQueue('record-lua'));
    const facts = {
      trace: 'tr-"1"',
      status: 'failed',
      account: 'acct',
      objectType: 'contacts',
      id: 'ada@example.com',
      idProperty: 'email',
      attempts: 2,
      enqueuedAt: 1_765_000_000_123,
      finishedAt: 1_765_000_004_000,
      ingestedAt: 1_765_000_000_200,
      hubspotObjectId: '901',
      fp: 'abc',
      hist: 'b1,b2',
      priority: 'interactive',
      error: { category: 'VALIDATION_ERROR', message: 'Property "x"\n does not exist', httpStatus: 400 },
    };
    const record = String(await probe.run(redis, [], [...keys.scriptArgs, 'record', JSON.stringify(facts)]));
    expect(parseStoredRecord(record, facts.trace)).toEqual({
      objectWriteTraceId: facts.trace,
      status: 'failed',
      account: 'acct',
      objectType: 'contacts',
      id: 'ada@example.com',
      idProperty: 'email',
      attempts: 2,
      enqueuedAt: facts.enqueuedAt,
      finishedAt: facts.finishedAt,
      ingestedAt: facts.ingestedAt,
      hubspotObjectId: '901',
      fp: 'abc',
      hist: 'b1,b2',
      priority: 'interactive',
      error: facts.error,
    });

    // The stream carries the trace id and leaves out what only the queue reads.
    const [stored, streamed] = (await probe.run(
      redis,
      [],
      [...keys.scriptArgs, 'forms', JSON.stringify(facts)],
    )) as [string, string];
    expect(stored).toBe(record);
    expect(parseStoredRecord(streamed, 'not-this')).toEqual(
      publicOutcome(parseStoredRecord(record, facts.trace)),
    );

    const bare = {
      trace: 't2',
      status: 'retrying',
      account: 'a',
      objectType: 'deals',
      id: '7',
      attempts: 1,
      enqueuedAt: 5,
    };
    const short = String(await probe.run(redis, [], [...keys.scriptArgs, 'record', JSON.stringify(bare)]));
    expect(short).toBe('[1,"","retrying","a","deals","7",1,5]');
    expect(parseStoredRecord(short, 't2')).toEqual({
      objectWriteTraceId: 't2',
      status: 'retrying',
      account: 'a',
      objectType: 'deals',
      id: '7',
      attempts: 1,
      enqueuedAt: 5,
    });

    // Internal fields after trimmed public ones: padded back, so each keeps its position for every reader.
    const padded = { ...bare, status: 'succeeded', finishedAt: 9, fp: 'f9', hist: 'b7' };
    const [kept, sent] = (await probe.run(
      redis,
      [],
      [...keys.scriptArgs, 'forms', JSON.stringify(padded)],
    )) as [string, string];
    expect(kept).toBe('[1,"","succeeded","a","deals","7",1,5,4,"","","","","","f9","b7"]');
    expect(sent).toBe('[1,"t2","succeeded","a","deals","7",1,5,4]');
    expect(parseStoredRecord(kept, 't2')).toMatchObject({ finishedAt: 9, fp: 'f9', hist: 'b7' });
    const read = async (record: string) =>
      JSON.parse(String(await probe.run(redis, [], [...keys.scriptArgs, 'read', record]))) as unknown;
    expect(await read(kept)).toEqual({ status: 'succeeded', fp: 'f9', hist: 'b7', category: '' });
    expect(await read(record)).toEqual({
      status: 'failed',
      fp: 'abc',
      hist: 'b1,b2',
      category: 'VALIDATION_ERROR',
    });
  });

  it('K.readRecord reads status, fingerprint, history and category from either shape', async () => {
    const redis = testRedis();
    const keys = queueKeys(testQueue('record-read'));
    const read = async (record: string) =>
      String(await probe.run(redis, [], [...keys.scriptArgs, 'read', record]));
    const expected = JSON.stringify({ status: 'failed', fp: 'f', hist: 'h', category: 'RATE' });
    const asObject = JSON.parse(
      await read(
        JSON.stringify({
          objectWriteTraceId: 't',
          status: 'failed',
          fp: 'f',
          hist: 'h',
          error: { category: 'RATE', message: 'm' },
        }),
      ),
    );
    const asArray = JSON.parse(
      await read(
        JSON.stringify([1, '', 'failed', 'a', 'c', '1', 1, 0, 1, '', '', '', ['RATE', 'm'], 3, 'f', 'h']),
      ),
    );
    expect(asObject).toEqual(JSON.parse(expected));
    expect(asArray).toEqual(JSON.parse(expected));
    expect(await read('not json')).toBe('');
    expect(JSON.parse(await read('[1,"","queued"]'))).toEqual({
      status: 'queued',
      fp: '',
      hist: '',
      category: '',
    });
  });

  it('of the older object shape still tells a reused trace id of a finished update from a different update', async () => {
    const queue = testQueue('record-old');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const producer = testProducer(queue);
    const parsed = parseUpdate({ ...ada, objectWriteTraceId: 'old-1' });
    if (!parsed.ok) throw new Error('fixture');
    const old = {
      objectWriteTraceId: 'old-1',
      status: 'succeeded',
      account: 'default',
      objectType: 'contacts',
      id: '801',
      attempts: 1,
      enqueuedAt: 1,
      finishedAt: 2,
      fp: fingerprint(canonicalJobData(parsed.update)),
    };
    await redis.set(keys.outcome('old-1'), JSON.stringify(old), 'EX', 600);

    expect(await producer.enqueue({ ...ada, objectWriteTraceId: 'old-1' })).toEqual({
      objectWriteTraceId: 'old-1',
      duplicate: true,
    });
    await expect(
      producer.enqueue({ ...ada, properties: { firstname: 'Grace' }, objectWriteTraceId: 'old-1' }),
    ).rejects.toMatchObject({ code: 'TRACE_ID_CONFLICT', conflicts: [{ usedBy: 'finished' }] });
    const { fp: _fp, ...outcome } = old;
    expect(await producer.getOutcome('old-1')).toEqual(outcome);
  });

  it('is written as the objects older versions read once record-format is object, by workers and admin commands', async () => {
    const sim = await testSimulator();
    sim.createObjects(TOKEN, 'contacts', [{ id: '801', properties: {} }]);
    const queue = testQueue('record-objects');
    const keys = queueKeys(queue);
    const redis = testRedis();
    const producer = testProducer(queue);
    const admin = testAdmin(queue);
    expect(await admin.recordFormats()).toEqual(['compact']);
    await admin.setRecordFormat('object');
    expect(await admin.recordFormats()).toEqual(['object']);
    expect((await admin.status()).recordFormat).toBe('object');
    await producer.enqueue({ ...ada, objectWriteTraceId: 'ob-1' });
    const worker = await testWorker(queue, sim);
    const [done] = await producer.waitForOutcomes(['ob-1']);
    expect(done).toMatchObject({ status: 'succeeded' });
    // A worker starting does not change what the operator set.
    expect(await redis.get(keys.recordFormat)).toBe('object');
    await worker.close();
    await producer.enqueue({ ...ada, id: '5', objectWriteTraceId: 'ob-2' });
    expect((await admin.failAccount('default')).failed).toBe(1);

    const parsed = parseUpdate({ ...ada, objectWriteTraceId: 'ob-1' });
    if (!parsed.ok) throw new Error('fixture');
    // What a version before compact records reads: an object naming its trace id, status and fingerprint.
    const stored = JSON.parse((await redis.get(keys.outcome('ob-1'))) ?? 'null') as Record<string, unknown>;
    expect(stored).toMatchObject({
      objectWriteTraceId: 'ob-1',
      status: 'succeeded',
      fp: fingerprint(canonicalJobData(parsed.update)),
    });
    const failed = JSON.parse((await redis.get(keys.outcome('ob-2'))) ?? 'null') as Record<string, unknown>;
    expect(failed).toMatchObject({
      objectWriteTraceId: 'ob-2',
      status: 'failed',
      error: { category: 'OPERATOR_FAILED' },
    });
    const streamed = (await redis.xrange(keys.outcomeStream, '-', '+')).flatMap(
      ([, fields]) => JSON.parse(fields[1] ?? '[]') as Array<Record<string, unknown>>,
    );
    expect(streamed.map((r) => [r.objectWriteTraceId, r.status]).sort()).toEqual([
      ['ob-1', 'succeeded'],
      ['ob-2', 'failed'],
    ]);
    expect(await producer.getOutcome('ob-1')).toEqual(done);

    // Back to compact: the next record is an array, and both stay readable.
    await admin.setRecordFormat('compact');
    await producer.enqueue({ ...ada, id: '6', objectWriteTraceId: 'ob-3' });
    expect((await admin.failAccount('default')).failed).toBe(1);
    const raw = JSON.parse((await redis.get(keys.outcome('ob-3'))) ?? 'null') as unknown[];
    expect(raw.slice(0, 3)).toEqual([1, '', 'failed']);
    expect((await producer.getOutcomes(['ob-2', 'ob-3'])).map((o) => o?.status)).toEqual([
      'failed',
      'failed',
    ]);
    await expect(admin.setRecordFormat('objects' as 'object')).rejects.toThrow(RangeError);
  });

  it('is set on every shard by the record-format command, which refuses what it does not know', async () => {
    const queue = testQueue('record-cli', 2);
    const env = { QUEUE_NAME: queue, QUEUE_SHARDS: '2' };
    const redis = testRedis();
    expect(await runCli(['record-format'], env)).toMatchObject({
      code: 0,
      stdout: '{"recordFormat":"compact"}\n',
    });
    expect(await runCli(['record-format', 'object'], env)).toMatchObject({
      code: 0,
      stdout: '{"recordFormat":"object"}\n',
    });
    const names = shardQueueNames(queue, 2);
    expect(await Promise.all(names.map((n) => redis.get(queueKeys(n).recordFormat)))).toEqual([
      'object',
      'object',
    ]);
    // One shard left behind (a run cut half-way), either way, shows as mixed and exits 1: the operator runs it again.
    await redis.set(queueKeys(names[1] as string).recordFormat, 'compact');
    expect(await runCli(['record-format'], env)).toMatchObject({
      code: 1,
      stdout: '{"recordFormat":"mixed","shards":["object","compact"]}\n',
    });
    await redis.set(queueKeys(names[0] as string).recordFormat, 'compact');
    await redis.set(queueKeys(names[1] as string).recordFormat, 'object');
    expect((await runCli(['record-format'], env)).stdout).toBe(
      '{"recordFormat":"mixed","shards":["compact","object"]}\n',
    );
    const status = await runCli(['status'], env);
    expect(status.stdout).toContain('Outcome records: mixed (shards differ');
    expect((await runCli(['record-format', 'object'], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['status', '--json'], env)).stdout)).toMatchObject({
      recordFormat: 'object',
    });
    const bad = await runCli(['record-format', 'objects'], env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('expects "compact" or "object", got "objects"');
    expect((await runCli(['record-format', 'object', 'compact'], env)).code).toBe(64);
    expect((await runCli(['record-format', '--force'], env)).code).toBe(64);
  });
});

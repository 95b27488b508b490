import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  failedMember,
  formatEntry,
  groupOf,
  jobIdFor,
  KEY_TABLE,
  objectKeyOf,
  parseEntry,
  parseObjectKey,
  queueKeys,
  traceIdOfJobId,
} from '../../src/keys.js';
import { LUA_KEYS } from '../../src/lua-prelude.js';
import { testQueue } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

/** Runs `body` after the keys prelude, with the queue's script arguments first, as every queue script does. */
async function lua(queueName: string, body: string, ...args: string[]): Promise<unknown> {
  const k = queueKeys(queueName);
  return testRedis().eval(`${LUA_KEYS}\n${body}`, 0, ...k.scriptArgs, ...args);
}

// Names that become part of a key: what ingest routes (no `|`, `:` or white space).
const name = fc.stringMatching(/^[A-Za-z0-9_.@-]{1,12}$/);
// An id may hold anything but a newline (entries are newline-separated in batch records).
const id = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\n'));

describe('the Lua keys prelude builds and parses what keys.ts does', () => {
  it('every key of the key table, single or built from a part', async () => {
    const queueName = testQueue('lua-keys');
    const k = queueKeys(queueName) as unknown as Record<string, string | ((part: string) => string)>;
    for (const [key, doc] of Object.entries(KEY_TABLE)) {
      const expected = doc.arg === '' ? k[key] : (k[key] as (part: string) => string)('p|1:x');
      const body = doc.arg === '' ? `return K.${key}` : `return K.${key}(ARGV[3])`;
      expect(await lua(queueName, body, 'p|1:x'), key).toBe(expected);
    }
  });

  it('object keys, groups, entries, job ids and dead-letter members, for any legal parts', async () => {
    const queueName = testQueue('lua-formats');
    await fc.assert(
      fc.asyncProperty(
        name,
        name,
        fc.option(name, { nil: undefined }),
        id,
        fc.nat({ max: 2 ** 40 }),
        fc.nat({ max: 2 ** 44 }),
        fc.nat({ max: 50 }),
        async (account, objectType, idProperty, objectId, seq, enqueuedAt, attempts) => {
          const objectKey = objectKeyOf(account, objectType, idProperty, objectId);
          const jobId = jobIdFor(objectId);
          const entry = formatEntry({ seq, enqueuedAt, attempts, jobId });
          const r = (await lua(
            queueName,
            `local a, t, p, i = K.parseObjectKey(ARGV[5])
             local s, ts, n, j = K.parseEntry(K.entry(tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12]))
             return { K.objectKey(K.group(ARGV[3], ARGV[4]), ARGV[6], ARGV[7]), K.groupOfObject(ARGV[5]), a, t, p, i,
               K.entry(tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12]), tostring(s), tostring(ts),
               tostring(n), j, K.traceOfJobId(ARGV[12]), K.failedMember(ARGV[7], 'A|B', ARGV[12]) }`,
            account,
            objectType,
            objectKey,
            idProperty ?? '',
            objectId,
            '',
            String(seq),
            String(enqueuedAt),
            String(attempts),
            jobId,
          )) as string[];
          const parsed = parseObjectKey(objectKey);
          expect(r).toEqual([
            objectKey,
            groupOf(account, objectType),
            parsed.account,
            parsed.objectType,
            parsed.idProperty ?? '',
            parsed.id,
            entry,
            String(parseEntry(entry).seq),
            String(parseEntry(entry).enqueuedAt),
            String(attempts),
            jobId,
            traceIdOfJobId(jobId),
            failedMember(objectId, 'A|B', jobId),
          ]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('entries of both lanes: the interactive mark survives every parse and rebuild, bulk entries stay as they were', async () => {
    const queueName = testQueue('lua-lanes');
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 2 ** 40 }),
        fc.nat({ max: 2 ** 44 }),
        fc.nat({ max: 50 }),
        id,
        fc.boolean(),
        async (seq, enqueuedAt, attempts, objectId, interactive) => {
          const jobId = jobIdFor(objectId);
          const entry = formatEntry({
            seq,
            enqueuedAt,
            attempts,
            jobId,
            ...(interactive ? { interactive } : {}),
          });
          const r = (await lua(
            queueName,
            `local e = K.entry(tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7] == '1')
             local s, ts, n, j, lane = K.parseEntry(e)
             return { e, K.entry(s, ts, n + 1, j, lane), K.jobOfEntry(e), K.isInteractiveEntry(e) and 1 or 0 }`,
            String(seq),
            String(enqueuedAt),
            String(attempts),
            jobId,
            interactive ? '1' : '0',
          )) as Array<string | number>;
          expect(r).toEqual([
            entry,
            formatEntry({ ...parseEntry(entry), attempts: attempts + 1 }),
            jobId,
            interactive ? 1 : 0,
          ]);
          expect(parseEntry(entry).interactive === true).toBe(interactive);
          if (!interactive) expect(entry).toBe(`${seq}:${enqueuedAt}:${attempts}:${jobId}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});

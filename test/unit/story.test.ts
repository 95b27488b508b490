import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { HISTORY_LIMIT, objectKeyOf } from '../../src/keys.js';
import { buildBatchStory, withBatch } from '../../src/story/batch-story.js';
import { explainBatch } from '../../src/story/explain.js';
import { parseTraceparent, traceparentOf } from '../../src/telemetry/traceparent.js';
import { buildSettlePlan } from '../../src/worker/plan.js';
import { prepareBatch } from '../../src/worker/prepare.js';
import type { ClaimedObject } from '../../src/worker/store-types.js';

const GROUP = 'default|contacts';

function claimed(id: string, traces: string[], history?: string[]): ClaimedObject {
  return {
    objectKey: objectKeyOf('default', 'contacts', undefined, id),
    updates: traces.map((trace, i) => ({
      entry: { seq: i + 1, enqueuedAt: 1_000 + i, attempts: 0, jobId: `t-${trace}` },
      data: JSON.stringify({
        objectType: 'contacts',
        id,
        properties: { [`p${i}`]: 'v' },
        objectWriteTraceId: trace,
      }),
      ingestedAt: 2_000,
      ...(history ? { history } : {}),
    })),
    landed: {},
  };
}

const PLAN = { maxAttempts: 5, backoffBaseMs: 100, backoffMaxMs: 1_000, windowMs: 10_000, holdMs: 0 };

describe('traceparent', () => {
  it('formats the active span and reads it back; refuses malformed and all-zero ones', () => {
    const sc = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.SAMPLED };
    const tp = traceparentOf(trace.setSpanContext(ROOT_CONTEXT, sc));
    expect(tp).toBe(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
    expect(parseTraceparent(tp)).toEqual({ ...sc, isRemote: true });
    expect(traceparentOf(ROOT_CONTEXT)).toBeUndefined();
    for (const bad of [
      '',
      'garbage',
      `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`,
      `01-${'a'.repeat(32)}-x-01`,
    ]) {
      expect(parseTraceparent(bad), bad).toBeUndefined();
    }
  });
});

describe('batch stories and update histories', () => {
  it('names the batch in every outcome, and in the job of an update that stays queued after a call', () => {
    const objects = [claimed('1', ['a', 'b'], ['old-batch']), claimed('2', ['c'])];
    const batch = prepareBatch(GROUP, objects);
    const fates = new Map([
      [0, { kind: 'succeeded' as const }],
      [1, { kind: 'requeue' as const, reason: 'rate_limited' }],
    ]);
    const { plan } = buildSettlePlan(objects, batch, fates, {
      ...PLAN,
      story: { batchId: 'B', carried: new Set([0, 1]) },
    });
    const [one, two] = plan.objects;
    expect(one?.done.map((d) => [d.trace, d.hist, d.ingestedAt])).toEqual([
      ['a', 'old-batch,B', 2_000],
      ['b', 'old-batch,B', 2_000],
    ]);
    expect(two?.history).toEqual([{ job: 't-c', batches: 'B' }]);
    // Not carried by a call (handed back before it was sent): nothing to remember.
    const notSent = buildSettlePlan(objects, batch, fates, {
      ...PLAN,
      story: { batchId: 'B', carried: new Set([0]) },
    });
    expect(notSent.plan.objects[1]?.history).toBeUndefined();
  });

  it('keeps the latest batches only, and tells one update its calls, its attempt and who was merged with it', () => {
    const long = Array.from({ length: HISTORY_LIMIT + 5 }, (_, i) => `b${i}`);
    const kept = withBatch(long, 'new').split(',');
    expect(kept).toHaveLength(HISTORY_LIMIT);
    expect(kept.at(-1)).toBe('new');
    expect(withBatch(['x', 'new'], 'new')).toBe('x,new');

    const objects = [claimed('1', ['a', 'b']), claimed('2', ['c'])];
    const batch = prepareBatch(GROUP, objects);
    const answer = (status: number, correlationId: string) => ({
      kind: 'http' as const,
      status,
      body: {},
      rateLimit: {},
      correlationId,
      latencyMs: 12.4,
    });
    const story = buildBatchStory('B', 1_500, batch, [
      {
        at: 3_000,
        waitedMs: 40.2,
        part: [0, 1],
        answer: answer(429, 'c1'),
        policyName: 'TEN_SECONDLY_ROLLING',
      },
      { at: 4_000, waitedMs: 0, part: [1], answer: answer(200, 'c2') },
    ]);
    const forA = explainBatch('a', 'B', JSON.stringify(story));
    expect(forA).toMatchObject({
      recorded: true,
      claimedAt: 1_500,
      inputs: 2,
      updates: 3,
      mergedWith: ['b'],
    });
    expect(forA.calls).toEqual([
      {
        at: 3_000,
        status: 429,
        correlationId: 'c1',
        attempt: 1,
        waitedMs: 40,
        latencyMs: 12,
        policyName: 'TEN_SECONDLY_ROLLING',
        inputs: 2,
      },
    ]);
    expect(explainBatch('c', 'B', JSON.stringify(story)).calls.map((c) => c.correlationId)).toEqual([
      'c1',
      'c2',
    ]);
    expect(explainBatch('a', 'gone', '')).toEqual({
      batchId: 'gone',
      recorded: false,
      mergedWith: [],
      calls: [],
    });
  });
});

import { describe, expect, it } from 'vitest';
import type { UpdateStory } from '../../src/story/explain.js';
import { renderExplanation } from '../../src/story/render.js';
import {
  runCli,
  TOKEN,
  testBullQueue,
  testProducer,
  testQueue,
  testSimulator,
  testWorker,
} from '../helpers/pipeline.js';

const RATE_LIMITED = {
  status: 429,
  body: {
    status: 'error',
    message: 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    policyName: 'TEN_SECONDLY_ROLLING',
  },
  headers: { 'Retry-After': '1' },
};

async function seeded(ids: string[]) {
  const sim = await testSimulator();
  sim.createObjects(
    TOKEN,
    'contacts',
    ids.map((id) => ({ id, properties: {} })),
  );
  return sim;
}

const batchCalls = (sim: Awaited<ReturnType<typeof seeded>>) =>
  sim.calls().filter((c) => c.path.endsWith('/batch/update'));

function seen(story: Awaited<ReturnType<ReturnType<typeof testProducer>['explain']>>): UpdateStory {
  if (!story.seen) throw new Error(story.message);
  return story;
}

describe('explain: one update story', () => {
  it('tells an update merged with another, sent twice after a 503: both calls with status, correlation id and attempt, then the outcome', async () => {
    const sim = await seeded(['1000', '1001']);
    sim.failNext(1, 'error5xx', { status: 503 });
    const queue = testQueue('explain-5xx');
    const producer = testProducer(queue);
    const [a, b, c] = await producer.enqueueMany([
      { objectType: 'contacts', id: '1000', properties: { firstname: 'Ada' } },
      { objectType: 'contacts', id: '1000', properties: { lastname: 'Lovelace' } },
      { objectType: 'contacts', id: '1001', properties: { firstname: 'Grace' } },
    ]);
    const traces = [a, b, c].map((r) => r?.objectWriteTraceId as string);
    await testWorker(queue, sim);
    await producer.waitForOutcomes(traces);

    const story = seen(await producer.explain(traces[0] as string));
    expect(story.outcome).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(story.ingestedAt).toBeGreaterThanOrEqual(story.enqueuedAt);
    expect(story.batches).toHaveLength(2);
    const [failedCall, okCall] = batchCalls(sim);
    const [first, second] = story.batches;
    // Merged with the other update of the same object; the third update shares the batch, not the input.
    expect(first?.mergedWith).toEqual([traces[1]]);
    expect(first?.inputs).toBe(2);
    expect(first?.updates).toBe(3);
    expect(first?.calls).toEqual([
      expect.objectContaining({ status: 503, correlationId: failedCall?.correlationId, attempt: 1 }),
    ]);
    expect(second?.calls).toEqual([
      expect.objectContaining({ status: 200, correlationId: okCall?.correlationId, attempt: 2 }),
    ]);
    expect(failedCall?.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    for (const call of [...(first?.calls ?? []), ...(second?.calls ?? [])]) {
      expect(call.waitedMs).toBeGreaterThanOrEqual(0);
      expect(call.at).toBeGreaterThanOrEqual(story.enqueuedAt);
    }
    expect(second?.calls[0]?.at).toBeGreaterThan(first?.calls[0]?.at ?? Number.POSITIVE_INFINITY);

    const text = renderExplanation(story);
    expect(text).toContain(`merged with ${traces[1]}`);
    expect(text).toContain(`HTTP 503, correlation id ${failedCall?.correlationId}, attempt 1`);
    expect(text).toContain(`HTTP 200, correlation id ${okCall?.correlationId}, attempt 2`);
    expect(text).toContain('outcome: succeeded, 2 attempts');
  });

  it('tells a 429 and the call after it in the same batch, with the policy and one attempt', async () => {
    const sim = await seeded(['2000']);
    sim.failNext(1, 'status', RATE_LIMITED);
    const queue = testQueue('explain-429');
    const producer = testProducer(queue);
    const { objectWriteTraceId: trace } = await producer.enqueue({
      objectType: 'contacts',
      id: '2000',
      properties: { city: 'Lima' },
    });
    await testWorker(queue, sim);
    await producer.waitForOutcomes([trace]);

    const story = seen(await producer.explain(trace));
    const [limited, ok] = batchCalls(sim);
    expect(story.outcome).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(story.batches).toHaveLength(1);
    expect(story.batches[0]?.calls).toEqual([
      expect.objectContaining({
        status: 429,
        policyName: 'TEN_SECONDLY_ROLLING',
        correlationId: limited?.correlationId,
        attempt: 1,
      }),
      expect.objectContaining({ status: 200, correlationId: ok?.correlationId, attempt: 1 }),
    ]);
  });

  it('answers "never seen" for an unknown trace id, and tells a queued update as waiting', async () => {
    const queue = testQueue('explain-unknown');
    const producer = testProducer(queue);
    const unknown = await producer.explain('no-such-update');
    expect(unknown).toEqual({
      objectWriteTraceId: 'no-such-update',
      seen: false,
      message: expect.stringContaining('never seen'),
    });
    expect(renderExplanation(unknown)).toMatch(/^never seen: no update with trace id "no-such-update"/);

    const { objectWriteTraceId } = await producer.enqueue({
      objectType: 'contacts',
      id: '1',
      properties: { city: 'Oslo' },
    });
    // This producer files an update where it goes in the enqueue call itself: taken in at once.
    const queued = seen(await producer.explain(objectWriteTraceId));
    expect(queued.outcome.status).toBe('queued');
    expect(queued.ingestedAt).toBe(queued.outcome.enqueuedAt);
    expect(queued.batches).toEqual([]);
    expect(renderExplanation(queued)).toMatch(/ingested/);
    expect(renderExplanation(queued)).not.toContain('waiting to be ingested');

    // Another client's job waits in BullMQ's wait list until a worker takes it in.
    await testBullQueue(queue).add(
      'update',
      { objectType: 'contacts', id: '2', properties: { city: 'Bergen' }, objectWriteTraceId: 'foreign-1' },
      { jobId: 't-foreign-1' },
    );
    const foreign = seen(await producer.explain('foreign-1'));
    expect(foreign.outcome.status).toBe('queued');
    expect(foreign.ingestedAt).toBeUndefined();
    expect(renderExplanation(foreign)).toContain('waiting to be ingested');
  });

  it('explain on the command line: --json prints the story, an unknown id exits 1, unknown flags exit 64', async () => {
    const sim = await seeded(['3000']);
    const queue = testQueue('explain-cli');
    const producer = testProducer(queue);
    const { objectWriteTraceId: trace } = await producer.enqueue({
      objectType: 'contacts',
      id: '3000',
      properties: { city: 'Rome' },
    });
    await testWorker(queue, sim);
    await producer.waitForOutcomes([trace]);
    const env = { QUEUE_NAME: queue };

    const json = await runCli(['explain', trace, '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const printed = JSON.parse(json.stdout) as UpdateStory;
    expect(printed).toMatchObject({
      objectWriteTraceId: trace,
      seen: true,
      outcome: { status: 'succeeded' },
    });
    expect(printed.batches[0]?.calls[0]).toMatchObject({
      status: 200,
      correlationId: batchCalls(sim)[0]?.correlationId,
    });

    const text = await runCli(['explain', trace], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('outcome: succeeded');

    const unknown = await runCli(['explain', 'never-enqueued'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('never seen');

    for (const args of [
      ['explain', trace, '--verbose'],
      ['explain'],
      ['explain', trace, 'extra'],
      ['explain', 'a:b'],
    ]) {
      const refused = await runCli(args, env);
      expect(refused.code, args.join(' ')).toBe(64);
      expect(refused.stderr).toContain('usage: hubspot-batch-queue explain <traceId> [--json]');
    }
    expect((await runCli(['explain', trace, '--verbose'], env)).stderr).toContain('unknown flag "--verbose"');
  });
});

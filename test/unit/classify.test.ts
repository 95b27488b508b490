import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyBatchAnswer } from '../../src/hubspot/classify.js';
import { ATTEMPT_POLICY, RETRY_REASONS } from '../../src/hubspot/policy.js';
import type { BatchVerdict, InputResult } from '../../src/hubspot/verdict.js';
import { http, input } from '../helpers/classify-fixtures.js';

function settled(verdict: BatchVerdict): InputResult[] {
  if (verdict.kind !== 'settled') throw new Error(`expected settled, got ${verdict.kind}`);
  return verdict.results;
}

function result(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    properties: { hs_object_id: id },
    createdAt: '2024-01-01T00:00:00Z',
    archived: false,
    ...extra,
  };
}

const complete = (results: unknown[], extra: Record<string, unknown> = {}) => ({
  status: 'COMPLETE',
  results,
  requestedAt: '2024-01-01T00:00:00Z',
  startedAt: '2024-01-01T00:00:00Z',
  completedAt: '2024-01-01T00:00:01Z',
  ...extra,
});

describe('classifyBatchAnswer: 200 COMPLETE', () => {
  it('settles every input as succeeded, matching unordered results by id', () => {
    const inputs = [input('101', 't1'), input('102', 't2'), input('103', 't3')];
    const verdict = classifyBatchAnswer(
      inputs,
      http(200, complete([result('103'), result('101'), result('102')])),
    );
    expect(verdict).toEqual({
      kind: 'settled',
      httpStatus: 200,
      results: [
        { objectWriteTraceId: 't1', ok: true, hubspotObjectId: '101' },
        { objectWriteTraceId: 't2', ok: true, hubspotObjectId: '102' },
        { objectWriteTraceId: 't3', ok: true, hubspotObjectId: '103' },
      ],
    });
  });

  it('uses echoed trace ids for inputs addressed by idProperty', () => {
    const inputs = [input('a@x.com', 't1', {}, 'email'), input('b@x.com', 't2', {}, 'email')];
    const body = complete([
      result('902', { objectWriteTraceId: 't2' }),
      result('901', { objectWriteTraceId: 't1' }),
    ]);
    expect(settled(classifyBatchAnswer(inputs, http(200, body)))).toEqual([
      { objectWriteTraceId: 't1', ok: true, hubspotObjectId: '901' },
      { objectWriteTraceId: 't2', ok: true, hubspotObjectId: '902' },
    ]);
  });

  it('leaves hubspotObjectId undefined when idProperty results cannot be told apart', () => {
    const inputs = [input('a@x.com', 't1', {}, 'email'), input('b@x.com', 't2', {}, 'email')];
    const results = settled(classifyBatchAnswer(inputs, http(200, complete([result('902'), result('901')]))));
    expect(results).toEqual([
      { objectWriteTraceId: 't1', ok: true },
      { objectWriteTraceId: 't2', ok: true },
    ]);
  });

  it('never takes an idProperty value for a HubSpot id even when they look alike', () => {
    const inputs = [input('555', 't1', {}, 'external_id'), input('556', 't2', {}, 'external_id')];
    const results = settled(classifyBatchAnswer(inputs, http(200, complete([result('556'), result('555')]))));
    expect(results.map((r) => (r.ok ? r.hubspotObjectId : 'failed'))).toEqual([undefined, undefined]);
  });

  it('treats hs_object_id as addressing by HubSpot id', () => {
    const inputs = [input('7', 't1', {}, 'hs_object_id'), input('8', 't2', {}, 'hs_object_id')];
    const results = settled(classifyBatchAnswer(inputs, http(200, complete([result('8'), result('7')]))));
    expect(results.map((r) => (r.ok ? r.hubspotObjectId : 'failed'))).toEqual(['7', '8']);
  });

  it('fills hubspotObjectId by elimination when one input and one result are left', () => {
    const inputs = [input('101', 't1'), input('a@x.com', 't2', {}, 'email')];
    const results = settled(classifyBatchAnswer(inputs, http(200, complete([result('999'), result('101')]))));
    expect(results).toEqual([
      { objectWriteTraceId: 't1', ok: true, hubspotObjectId: '101' },
      { objectWriteTraceId: 't2', ok: true, hubspotObjectId: '999' },
    ]);
  });

  it('retries, as unaccounted, inputs no result confirms when the results do not add up', () => {
    const inputs = [input('101', 't1'), input('102', 't2'), input('103', 't3')];
    const results = settled(classifyBatchAnswer(inputs, http(200, complete([result('102')]))));
    expect(results).toEqual([
      expect.objectContaining({
        objectWriteTraceId: 't1',
        ok: false,
        retryable: true,
        reason: 'unaccounted',
      }),
      { objectWriteTraceId: 't2', ok: true, hubspotObjectId: '102' },
      expect.objectContaining({
        objectWriteTraceId: 't3',
        ok: false,
        retryable: true,
        reason: 'unaccounted',
      }),
    ]);
    expect(results[0]).toMatchObject({
      error: {
        category: 'UNACCOUNTED',
        httpStatus: 200,
        message: expect.stringContaining('1 results for 3 inputs'),
      },
    });
  });

  it('confirms an input addressed by idProperty by a result carrying that property', () => {
    const inputs = [
      input('a@x.com', 't1', { email: 'a@x.com' }, 'email'),
      input('ext-9', 't2', { external_id: 'ext-9' }, 'external_id'),
      input('c@x.com', 't3', {}, 'email'),
    ];
    const body = complete([
      result('902', { properties: { external_id: 'ext-9', hs_object_id: '902' } }),
      result('901', { properties: { email: 'A@X.com', hs_object_id: '901' } }),
    ]);
    expect(settled(classifyBatchAnswer(inputs, http(200, body)))).toEqual([
      { objectWriteTraceId: 't1', ok: true, hubspotObjectId: '901' },
      { objectWriteTraceId: 't2', ok: true, hubspotObjectId: '902' },
      expect.objectContaining({ objectWriteTraceId: 't3', ok: false, reason: 'unaccounted' }),
    ]);
  });

  it('retries the whole batch when the answer confirms no input at all', () => {
    const inputs = [input('a@x.com', 't1', {}, 'email'), input('b@x.com', 't2', {}, 'email')];
    for (const body of [complete([]), complete([result('901')]), { status: 'COMPLETE' }]) {
      expect(classifyBatchAnswer(inputs, http(200, body))).toMatchObject({
        kind: 'retry',
        reason: 'unexpected_response',
        error: { category: 'UNEXPECTED_RESPONSE', httpStatus: 200 },
      });
    }
  });

  it('accepts numeric ids in results', () => {
    const results = settled(classifyBatchAnswer([input('42', 't1')], http(200, complete([{ id: 42 }]))));
    expect(results).toEqual([{ objectWriteTraceId: 't1', ok: true, hubspotObjectId: '42' }]);
  });
});

describe('classifyBatchAnswer: batch status other than COMPLETE', () => {
  it.each([
    [200, 'CANCELED', 'canceled'],
    [207, 'CANCELED', 'canceled'],
    [200, 'PENDING', 'incomplete'],
    [200, 'PROCESSING', 'incomplete'],
    [200, undefined, 'incomplete'],
  ])('HTTP %i with status %s retries the whole batch (%s)', (status, batchStatus, reason) => {
    const verdict = classifyBatchAnswer(
      [input('1', 't1')],
      http(status, { status: batchStatus, results: [] }),
    );
    expect(verdict).toMatchObject({ kind: 'retry', reason, error: { httpStatus: status } });
  });

  it('retries a 2xx whose body is not a batch response', () => {
    for (const body of ['<html>ok</html>', '', null, { results: 'nope', status: 'COMPLETE' }]) {
      expect(classifyBatchAnswer([input('1', 't1')], http(200, body))).toMatchObject({
        kind: 'retry',
        reason: 'unexpected_response',
        error: { category: 'UNEXPECTED_RESPONSE', httpStatus: 200 },
      });
    }
  });

  it('retries when numErrors says errors exist but none are listed', () => {
    const verdict = classifyBatchAnswer([input('1', 't1')], http(207, complete([], { numErrors: 1 })));
    expect(verdict).toMatchObject({ kind: 'retry', reason: 'unexpected_response' });
  });
});

describe('classifyBatchAnswer: 207 multi-status', () => {
  const notFound = (context: Record<string, unknown>) => ({
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: 'Object not found. objectId are usually numeric.',
    context,
    subCategory: 'crm.objects.OBJECT_NOT_FOUND',
  });

  it('fails only the input named by id; OBJECT_NOT_FOUND is final', () => {
    const inputs = [input('101', 't1'), input('102', 't2'), input('103', 't3')];
    const body = complete([result('103'), result('101')], {
      numErrors: 1,
      errors: [notFound({ ids: ['102'] })],
    });
    const verdict = classifyBatchAnswer(inputs, http(207, body, { correlationId: 'corr-1' }));
    expect(settled(verdict)).toEqual([
      { objectWriteTraceId: 't1', ok: true, hubspotObjectId: '101' },
      {
        objectWriteTraceId: 't2',
        ok: false,
        retryable: false,
        error: {
          category: 'OBJECT_NOT_FOUND',
          message: 'Object not found. objectId are usually numeric.',
          httpStatus: 207,
          correlationId: 'corr-1',
        },
      },
      { objectWriteTraceId: 't3', ok: true, hubspotObjectId: '103' },
    ]);
  });

  it('fails inputs named by trace id, as an array or a lone string', () => {
    const inputs = [input('101', 't1'), input('102', 't2'), input('103', 't3')];
    const body = complete([result('102')], {
      numErrors: 2,
      errors: [notFound({ objectWriteTraceId: ['t3'] }), notFound({ objectWriteTraceId: 't1' })],
    });
    const results = settled(classifyBatchAnswer(inputs, http(207, body)));
    expect(results.map((r) => r.ok)).toEqual([false, true, false]);
  });

  it('matches ids sent with idProperty, also when HubSpot changes their case', () => {
    const inputs = [input('Ada@X.com', 't1', {}, 'email'), input('bob@x.com', 't2', {}, 'email')];
    const body = complete([result('902')], { numErrors: 1, errors: [notFound({ ids: ['ada@x.com'] })] });
    const results = settled(classifyBatchAnswer(inputs, http(207, body)));
    expect(results).toEqual([
      expect.objectContaining({ objectWriteTraceId: 't1', ok: false, retryable: false }),
      // One succeeded input, one result left: the result is its record.
      { objectWriteTraceId: 't2', ok: true, hubspotObjectId: '902' },
    ]);
  });

  it('an id two record-id inputs share, with no result telling them apart, retries both', () => {
    const inputs = [input('101', 't1'), input('101', 't2', {}, 'hs_object_id'), input('102', 't3')];
    const body = complete([result('102')], { numErrors: 1, errors: [notFound({ ids: ['101'] })] });
    const results = settled(classifyBatchAnswer(inputs, http(207, body)));
    expect(results).toEqual([
      expect.objectContaining({
        objectWriteTraceId: 't1',
        ok: false,
        retryable: true,
        reason: 'unaccounted',
      }),
      expect.objectContaining({
        objectWriteTraceId: 't2',
        ok: false,
        retryable: true,
        reason: 'unaccounted',
      }),
      { objectWriteTraceId: 't3', ok: true, hubspotObjectId: '102' },
    ]);
    expect(results[0]).toMatchObject({ error: { message: expect.stringContaining('names id "101"') } });
  });

  describe('one id string, two addresses', () => {
    // 1005 is a record id for t1 and an external_id value (of no record) for t2.
    const inputs = [input('1005', 't1'), input('1005', 't2', {}, 'external_id'), input('1006', 't3')];

    it('pins an error naming the shared id on the input no result confirms', () => {
      const body = complete([result('1006'), result('1005')], {
        numErrors: 1,
        errors: [notFound({ ids: ['1005'] })],
      });
      expect(settled(classifyBatchAnswer(inputs, http(207, body)))).toEqual([
        { objectWriteTraceId: 't1', ok: true, hubspotObjectId: '1005' },
        expect.objectContaining({ objectWriteTraceId: 't2', ok: false, retryable: false }),
        { objectWriteTraceId: 't3', ok: true, hubspotObjectId: '1006' },
      ]);
    });

    it('follows the trace id when the error names one, whatever ids it names', () => {
      const body = complete([result('1006'), result('1005')], {
        numErrors: 1,
        errors: [notFound({ ids: ['1005'], objectWriteTraceId: ['t2'] })],
      });
      expect(settled(classifyBatchAnswer(inputs, http(207, body))).map((r) => r.ok)).toEqual([
        true,
        false,
        true,
      ]);
    });

    it('retries both when results confirm neither or both', () => {
      const neither = complete([result('1006')], { numErrors: 1, errors: [notFound({ ids: ['1005'] })] });
      const both = complete(
        [result('1006'), result('1005'), result('77', { properties: { external_id: '1005' } })],
        { numErrors: 1, errors: [notFound({ ids: ['1005'] })] },
      );
      for (const body of [neither, both]) {
        const results = settled(classifyBatchAnswer(inputs, http(207, body)));
        expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['unaccounted', 'unaccounted', 'ok']);
      }
    });
  });

  describe('errors counted but not listed', () => {
    it('retries the input the answer leaves unaccounted instead of reporting it succeeded', () => {
      const inputs = [input('101', 't1'), input('102', 't2'), input('c@x.com', 't3', {}, 'email')];
      const body = complete([result('102')], { numErrors: 2, errors: [notFound({ ids: ['101'] })] });
      const results = settled(classifyBatchAnswer(inputs, http(207, body)));
      expect(results).toEqual([
        expect.objectContaining({ objectWriteTraceId: 't1', ok: false, retryable: false }),
        { objectWriteTraceId: 't2', ok: true, hubspotObjectId: '102' },
        expect.objectContaining({
          objectWriteTraceId: 't3',
          ok: false,
          retryable: true,
          reason: 'unaccounted',
        }),
      ]);
      expect(results[2]).toMatchObject({
        error: { message: expect.stringContaining('numErrors is 2 but 1 errors are listed') },
      });
    });

    it('clears the rest by elimination when the accounting adds up', () => {
      const inputs = [
        input('101', 't1'),
        input('b@x.com', 't2', {}, 'email'),
        input('c@x.com', 't3', {}, 'email'),
      ];
      const body = complete([result('902'), result('903')], {
        numErrors: 1,
        errors: [notFound({ ids: ['101'] })],
      });
      expect(settled(classifyBatchAnswer(inputs, http(207, body))).map((r) => r.ok)).toEqual([
        false,
        true,
        true,
      ]);
    });
  });

  it.each([
    ['VALIDATION_ERROR', false],
    ['CONFLICT', false],
    ['OBJECT_NOT_FOUND', false],
    ['RATE_LIMIT', true],
    ['INTERNAL_ERROR', true],
    ['SOMETHING_NEW', true],
    [undefined, true],
  ])('a 207 error of category %s is retryable: %s', (category, retryable) => {
    const body = complete([], {
      numErrors: 1,
      errors: [{ category, message: 'm', context: { ids: ['1'] } }],
    });
    const [first] = settled(classifyBatchAnswer([input('1', 't1')], http(207, body)));
    expect(first).toMatchObject({ ok: false, retryable, error: { category: category ?? 'UNKNOWN' } });
  });

  it('prefers a final error when several name the same input', () => {
    const body = complete([], {
      numErrors: 2,
      errors: [
        { category: 'INTERNAL_ERROR', message: 'x', context: { ids: ['1'] } },
        { category: 'OBJECT_NOT_FOUND', message: 'y', context: { objectWriteTraceId: ['t1'] } },
      ],
    });
    const [first] = settled(classifyBatchAnswer([input('1', 't1')], http(207, body)));
    expect(first).toMatchObject({ ok: false, retryable: false, error: { category: 'OBJECT_NOT_FOUND' } });
  });

  it('an error naming no input leaves every input a result does not confirm unaccounted', () => {
    const inputs = [input('101', 't1'), input('a@x.com', 't2', {}, 'email'), input('103', 't3')];
    const body = complete([result('101'), result('777')], {
      numErrors: 1,
      errors: [{ category: 'OBJECT_NOT_FOUND', message: 'gone', context: { ids: ['somebody-else'] } }],
    });
    const results = settled(classifyBatchAnswer(inputs, http(207, body)));
    expect(results).toEqual([
      { objectWriteTraceId: 't1', ok: true, hubspotObjectId: '101' },
      expect.objectContaining({
        objectWriteTraceId: 't2',
        ok: false,
        retryable: true,
        reason: 'unaccounted',
      }),
      expect.objectContaining({
        objectWriteTraceId: 't3',
        ok: false,
        retryable: true,
        reason: 'unaccounted',
      }),
    ]);
    expect(results[1]).toMatchObject({
      error: { message: expect.stringContaining('OBJECT_NOT_FOUND: gone') },
    });
  });
});

describe('classifyBatchAnswer: properties', () => {
  const idArb = fc.constantFrom('1', '2', '3', '4', '5', 'a@x.com', 'B@x.com');
  const inputsArb = fc
    .uniqueArray(
      fc.record({ id: idArb, trace: fc.string({ minLength: 1, maxLength: 6 }), email: fc.boolean() }),
      {
        minLength: 1,
        maxLength: 12,
        selector: (r) => r.trace,
      },
    )
    .map((rows) => rows.map((r) => input(r.id, r.trace, {}, r.email ? 'email' : undefined)));
  const errorArb = fc.record({
    category: fc.constantFrom('OBJECT_NOT_FOUND', 'VALIDATION_ERROR', 'INTERNAL_ERROR', undefined),
    message: fc.string(),
    context: fc.record(
      {
        ids: fc.array(fc.oneof(idArb, fc.string()), { maxLength: 3 }),
        objectWriteTraceId: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })),
      },
      { requiredKeys: [] },
    ),
  });
  const resultArb = fc.record(
    { id: fc.oneof(idArb, fc.nat().map(String)), objectWriteTraceId: fc.string({ maxLength: 6 }) },
    { requiredKeys: ['id'] },
  );

  it('every input appears exactly once, in input order, whatever the errors and results', () => {
    fc.assert(
      fc.property(
        inputsArb,
        fc.array(errorArb, { maxLength: 6 }),
        fc.array(resultArb, { maxLength: 12 }),
        fc.constantFrom(200, 207),
        (inputs, errors, results, status) => {
          const verdict = classifyBatchAnswer(
            inputs,
            http(status, { status: 'COMPLETE', results, errors, numErrors: errors.length }),
          );
          // An answer that confirms and names nothing is retried whole.
          if (verdict.kind === 'retry') {
            expect(verdict.reason).toBe('unexpected_response');
            return;
          }
          const out = settled(verdict);
          expect(out.map((r) => r.objectWriteTraceId)).toEqual(inputs.map((i) => i.objectWriteTraceId));
          // A HubSpot id is only ever taken from a result.
          const objectIds = out.flatMap((r) => (r.ok && r.hubspotObjectId ? [r.hubspotObjectId] : []));
          for (const id of objectIds) expect(results.map((r) => r.id)).toContain(id);
          // A success needs evidence: a result for every input no error names, or one that is its own.
          const named = new Set(errors.flatMap((e) => [e.context.objectWriteTraceId ?? []].flat()));
          out.forEach((r, i) => {
            if (!r.ok) return;
            expect(named.has(r.objectWriteTraceId)).toBe(false);
            const own = results.some(
              (res) => res.objectWriteTraceId === r.objectWriteTraceId || res.id === inputs[i]?.id,
            );
            expect(own || results.length >= out.filter((o) => o.ok).length).toBe(true);
          });
        },
      ),
    );
  });

  it('an input named by trace id always fails', () => {
    fc.assert(
      fc.property(inputsArb, fc.nat(), (inputs, pick) => {
        const target = inputs[pick % inputs.length]!;
        const body = complete([], {
          numErrors: 1,
          errors: [
            { category: 'OBJECT_NOT_FOUND', context: { objectWriteTraceId: [target.objectWriteTraceId] } },
          ],
        });
        const out = settled(classifyBatchAnswer(inputs, http(207, body)));
        expect(out.find((r) => r.objectWriteTraceId === target.objectWriteTraceId)?.ok).toBe(false);
      }),
    );
  });

  it('every retry reason the classifier gives has a policy row', () => {
    const statusArb = fc.integer({ min: 100, max: 599 });
    const bodyArb = fc.oneof(
      fc.constant(''),
      fc.constant('<html/>'),
      fc.constant({ status: 'CANCELED' }),
      fc.object(),
    );
    fc.assert(
      fc.property(statusArb, bodyArb, (status, body) => {
        const verdict = classifyBatchAnswer([input('1', 't1')], http(status, body));
        if (verdict.kind === 'retry') {
          expect(RETRY_REASONS).toContain(verdict.reason);
          expect(ATTEMPT_POLICY[verdict.reason].retry).toBe(true);
        }
      }),
    );
  });
});

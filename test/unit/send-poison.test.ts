import { describe, expect, it } from 'vitest';
import type { BatchInput, BatchRequest, HubSpotAnswer, HubSpotPort } from '../../src/hubspot/port.js';
import { objectKeyOf } from '../../src/keys.js';
import type { Grant, PauseInForce } from '../../src/ratelimit/budget.js';
import { type PreparedBatch, prepareBatch } from '../../src/worker/prepare.js';
import { type InputFate, type SendOptions, sendBatch } from '../../src/worker/send.js';
import type { ClaimedObject } from '../../src/worker/store-types.js';

const GROUP = 'acct-1|contacts';

/** A batch of one input per `[id, properties]`, trace ids `t-<id>`. */
function batchOf(...objects: Array<[string, Record<string, string>]>): PreparedBatch {
  const claimed: ClaimedObject[] = objects.map(([id, properties], i) => ({
    objectKey: objectKeyOf('acct-1', 'contacts', undefined, id),
    updates: [
      {
        entry: { seq: i + 1, enqueuedAt: 1_000, attempts: 0, jobId: `t-t-${id}` },
        data: JSON.stringify({ objectType: 'contacts', id, properties, objectWriteTraceId: `t-${id}` }),
      },
    ],
    landed: {},
  }));
  return prepareBatch(GROUP, claimed);
}

/** The message HubSpot's 400 for an invalid value carries, its JSON list of problems included. */
function invalidValueMessage(name: string, value: string): string {
  const problem = {
    isValid: false,
    message: `${value} was not a valid number.`,
    error: 'INVALID_INTEGER',
    name,
    propertyValue: value,
  };
  return `Property values were not valid: ${JSON.stringify([problem])}`;
}

function http(status: number, body: unknown): HubSpotAnswer {
  return { kind: 'http', status, body, rateLimit: {}, latencyMs: 1, correlationId: `corr-${status}` };
}

/**
 * A HubSpot port that rejects a whole batch with `rejection` whenever it holds an input `isBad` picks, and
 * otherwise applies every input; it records each call's inputs.
 */
function port(isBad: (input: BatchInput) => boolean, rejection: (bad: BatchInput) => unknown) {
  const calls: BatchInput[][] = [];
  const hubspot: HubSpotPort = {
    async batchRead(): Promise<HubSpotAnswer> {
      throw new Error('sendBatch never reads');
    },
    async batchUpdate(request: BatchRequest): Promise<HubSpotAnswer> {
      calls.push(request.inputs);
      request.onSent?.(Date.now());
      const bad = request.inputs.find(isBad);
      if (bad) return http(400, rejection(bad));
      return http(200, {
        status: 'COMPLETE',
        results: request.inputs.map((input) => ({
          id: `hs-${input.id}`,
          properties: input.properties,
          objectWriteTraceId: input.objectWriteTraceId,
        })),
      });
    },
    async getProperties(): Promise<HubSpotAnswer> {
      throw new Error('not used by sendBatch');
    },
  };
  return { hubspot, calls };
}

/** A budget that always grants at once and records what it is told. */
function budget() {
  const reports: number[] = [];
  const pauses: unknown[] = [];
  const slice: SendOptions['budget'] = {
    async waitForGrant(): Promise<Grant> {
      const now = Date.now();
      return { granted: true, grantId: `g-${reports.length}`, at: now, localAt: now };
    },
    async report(_account, _grant, _snapshot, _budget, call) {
      reports.push(call?.rejected ? 429 : 0);
    },
    async pause(_account, options): Promise<PauseInForce> {
      pauses.push(options);
      return { untilMs: 0, ms: 0 };
    },
    async departed() {
      return false;
    },
  };
  return { slice, reports, pauses };
}

async function send(batch: PreparedBatch, hubspot: HubSpotPort, slice: SendOptions['budget']) {
  return sendBatch(batch, {
    port: hubspot,
    budget: slice,
    accountBudget: { maxRequests: 100, windowMs: 10_000 },
    signal: new AbortController().signal,
    maxInlinePauseMs: 1_000,
    authPauseMs: 60_000,
  });
}

function fateOf(batch: PreparedBatch, fates: Map<number, InputFate>, id: string): InputFate | undefined {
  return fates.get(batch.inputs.findIndex((p) => p.input.id === id));
}

describe('sendBatch: a 400 for one bad input', () => {
  it('fails the input HubSpot names by its value and sends the others again, once', async () => {
    const batch = batchOf(['1', { amount: '10' }], ['2', { amount: 'ten' }], ['3', { amount: '30' }]);
    const { hubspot, calls } = port(
      (input) => input.properties.amount === 'ten',
      (bad) => ({
        status: 'error',
        category: 'VALIDATION_ERROR',
        message: invalidValueMessage('amount', bad.properties.amount ?? ''),
        correlationId: 'corr-body',
      }),
    );
    const { slice, reports, pauses } = budget();
    const fates = await send(batch, hubspot, slice);

    expect(calls.map((c) => c.map((i) => i.id))).toEqual([
      ['1', '2', '3'],
      ['1', '3'],
    ]);
    expect(fateOf(batch, fates, '1')).toEqual({ kind: 'succeeded', hubspotObjectId: 'hs-1' });
    expect(fateOf(batch, fates, '3')).toEqual({ kind: 'succeeded', hubspotObjectId: 'hs-3' });
    expect(fateOf(batch, fates, '2')).toEqual({
      kind: 'poison',
      error: {
        category: 'VALIDATION_ERROR',
        message: 'ten was not a valid number.',
        httpStatus: 400,
        correlationId: 'corr-body',
      },
      badProperties: ['amount'],
    });
    expect(fates.size).toBe(3);
    // Every answer's headers went back to the budget, none counted as a 429, and nothing paused.
    expect(reports).toEqual([0, 0]);
    expect(pauses).toEqual([]);
  });

  it('bisects a batch whose 400 names nothing, until the bad input fails alone with the message HubSpot gave', async () => {
    const batch = batchOf(
      ['1', { firstname: 'a' }],
      ['2', { firstname: 'b' }],
      ['3', { firstname: 'BAD' }],
      ['4', { firstname: 'd' }],
    );
    const { hubspot, calls } = port(
      (input) => input.properties.firstname === 'BAD',
      () => ({
        status: 'error',
        category: 'VALIDATION_ERROR',
        message: 'Something in the batch was not valid',
      }),
    );
    const { slice } = budget();
    const fates = await send(batch, hubspot, slice);

    expect(calls.map((c) => c.map((i) => i.id))).toEqual([
      ['1', '2', '3', '4'],
      ['1', '2'],
      ['3', '4'],
      ['3'],
      ['4'],
    ]);
    for (const id of ['1', '2', '4'])
      expect(fateOf(batch, fates, id)).toEqual({ kind: 'succeeded', hubspotObjectId: `hs-${id}` });
    expect(fateOf(batch, fates, '3')).toEqual({
      kind: 'poison',
      error: {
        category: 'VALIDATION_ERROR',
        message: 'Something in the batch was not valid',
        httpStatus: 400,
        correlationId: 'corr-400',
      },
      badProperties: [],
    });
  });

  it('fails the input an error names by trace id, whatever its properties', async () => {
    const batch = batchOf(['1', { firstname: 'a' }], ['2', { firstname: 'b' }]);
    const { hubspot, calls } = port(
      (input) => input.id === '2',
      (bad) => ({
        status: 'error',
        category: 'VALIDATION_ERROR',
        message: 'Invalid input',
        errors: [
          {
            message: 'Object cannot be updated',
            code: 'INVALID_OBJECT',
            context: { objectWriteTraceId: [bad.objectWriteTraceId] },
          },
        ],
      }),
    );
    const fates = await send(batch, hubspot, budget().slice);
    expect(calls.map((c) => c.map((i) => i.id))).toEqual([['1', '2'], ['1']]);
    expect(fateOf(batch, fates, '1')).toEqual({ kind: 'succeeded', hubspotObjectId: 'hs-1' });
    expect(fateOf(batch, fates, '2')).toMatchObject({
      kind: 'poison',
      error: { category: 'VALIDATION_ERROR', message: 'Invalid input', httpStatus: 400 },
      badProperties: [],
    });
  });
});

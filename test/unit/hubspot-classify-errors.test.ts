import { describe, expect, it } from 'vitest';
import { classifyBatchAnswer } from '../../src/hubspot/classify.js';
import type { HubSpotAnswer, TransportErrorCode } from '../../src/hubspot/port.js';
import { invalidPropertiesBody } from '../../src/simulator/errors.js';
import { builtInSchemas } from '../../src/simulator/schema.js';
import { checkProperty } from '../../src/simulator/values.js';
import { http, input } from '../helpers/classify-fixtures.js';

describe('classifyBatchAnswer: 400 validation', () => {
  const bad = (message: string, extra: Record<string, unknown> = {}) => ({
    status: 'error',
    message,
    correlationId: 'c-400',
    category: 'VALIDATION_ERROR',
    ...extra,
  });

  it('names an unknown property and the inputs that set it', () => {
    const inputs = [input('1', 't1', { firstname: 'A' }), input('2', 't2', { foo: 'x' }), input('3', 't3')];
    const message =
      'Property values were not valid: [{"isValid":false,"message":"Property \\"foo\\" does not exist",' +
      '"error":"PROPERTY_DOESNT_EXIST","name":"foo"}]';
    const body = bad(message, {
      errors: [
        {
          message: 'Property "foo" does not exist',
          code: 'PROPERTY_DOESNT_EXIST',
          context: { propertyName: ['foo'] },
        },
      ],
    });
    expect(classifyBatchAnswer(inputs, http(400, body))).toEqual({
      kind: 'rejected',
      error: { category: 'VALIDATION_ERROR', message, httpStatus: 400, correlationId: 'c-400' },
      poison: {
        traceIds: ['t2'],
        badProperties: {
          t2: [{ name: 'foo', code: 'PROPERTY_DOESNT_EXIST', message: 'Property "foo" does not exist' }],
        },
        suspects: [],
        ids: [],
        properties: [
          { name: 'foo', code: 'PROPERTY_DOESNT_EXIST', message: 'Property "foo" does not exist' },
        ],
        duplicateIds: [],
        batchTooLarge: false,
      },
    });
  });

  it('takes the rejected value from the message and implicates only the inputs holding it', () => {
    const inputs = [
      input('1', 't1', { amount: '10' }),
      input('2', 't2', { amount: '1.4210854715202004e-14' }),
    ];
    const message =
      'Property values were not valid: [{"isValid":false,"message":"1.4210854715202004e-14 was not a valid ' +
      'number.","error":"INVALID_INTEGER","name":"amount","localizedErrorMessage":"1.4210854715202004e-14 was ' +
      'not a valid number.","propertyValue":"1.4210854715202004e-14","portalId":123}]';
    const body = bad(message, {
      errors: [
        {
          message: '1.4210854715202004e-14 was not a valid number.',
          code: 'INVALID_INTEGER',
          context: { propertyName: ['amount'] },
        },
      ],
    });
    const verdict = classifyBatchAnswer(inputs, http(400, body));
    expect(verdict).toMatchObject({
      kind: 'rejected',
      poison: {
        traceIds: ['t2'],
        properties: [{ name: 'amount', code: 'INVALID_INTEGER', value: '1.4210854715202004e-14' }],
      },
    });
  });

  it('reads a quoted value from errors[] alone', () => {
    const inputs = [input('1', 't1', { age: 'abc' }), input('2', 't2', { age: '3' })];
    const body = bad('Property values were not valid', {
      errors: [
        {
          message: '"abc" is not a valid number.',
          code: 'INVALID_INTEGER',
          context: { propertyName: 'age' },
        },
      ],
    });
    expect(classifyBatchAnswer(inputs, http(400, body))).toMatchObject({
      kind: 'rejected',
      poison: { traceIds: ['t1'], properties: [{ name: 'age', code: 'INVALID_INTEGER', value: 'abc' }] },
    });
  });

  it('parses an INVALID_OPTION message whose value has spaces and parentheses', () => {
    const inputs = [input('1', 't1', { visitors: 'Less than 5,000 (does not qualify)' })];
    const message =
      'Property values were not valid: [{"isValid":false,"message":"Less than 5,000 (does not qualify) was not one ' +
      'of the allowed options: [label: \\"Less than 5,000\\"\\nvalue: \\"Less than 5,000\\"\\n]","error":' +
      '"INVALID_OPTION","name":"visitors"}]';
    expect(classifyBatchAnswer(inputs, http(400, bad(message)))).toMatchObject({
      poison: {
        traceIds: ['t1'],
        properties: [
          { name: 'visitors', code: 'INVALID_OPTION', value: 'Less than 5,000 (does not qualify)' },
        ],
      },
    });
  });

  // HubSpot's message for "42\n": the value JSON-escaped inside the quoted message of the list.
  const whitespace = bad(
    'Property values were not valid: [{"isValid":false,"message":"\\"42\\\\n\\" includes leading or trailing ' +
      'whitespace.","error":"LEADING_TRAILING_WHITESPACE","name":"age"}]',
  );

  it('pins a padded value on its holder by comparing the unescaped quoted value', () => {
    const inputs = Array.from({ length: 11 }, (_, i) =>
      input(String(i + 1), `t${i + 1}`, { age: i === 6 ? '42\n' : String(40 + i) }),
    );
    const verdict = classifyBatchAnswer(inputs, http(400, whitespace));
    expect(verdict).toMatchObject({
      kind: 'rejected',
      poison: {
        traceIds: ['t7'],
        suspects: [],
        properties: [{ name: 'age', code: 'LEADING_TRAILING_WHITESPACE', value: '42\n', rawValue: '42\\n' }],
      },
    });
  });

  it('also matches the value as written, for a value HubSpot did not escape', () => {
    const inputs = [input('1', 't1', { age: 'C:\\temp' }), input('2', 't2', { age: '5' })];
    // Unescaped, "\t" would read as a tab; the input holds a backslash and a t.
    const verdict = classifyBatchAnswer(
      inputs,
      http(
        400,
        bad('Property values were not valid', {
          errors: [
            {
              message: '"C:\\temp" is not a valid number.',
              code: 'INVALID_INTEGER',
              context: { propertyName: ['age'] },
            },
          ],
        }),
      ),
    );
    expect(verdict).toMatchObject({ poison: { traceIds: ['t1'], suspects: [] } });
  });

  it('never implicates every setter when the quoted value matches no input: they are suspects', () => {
    const inputs = [
      input('1', 't1', { age: '1' }),
      input('2', 't2', { age: '2' }),
      input('3', 't3', { firstname: 'A' }),
    ];
    expect(classifyBatchAnswer(inputs, http(400, whitespace))).toMatchObject({
      kind: 'rejected',
      poison: { traceIds: [], badProperties: {}, suspects: ['t1', 't2'] },
    });
  });

  it('makes setters suspects when the message quotes no value, and pins a lone setter', () => {
    const body = bad('Property values were not valid', {
      errors: [{ message: 'not valid', code: 'INVALID_INTEGER', context: { propertyName: ['age'] } }],
    });
    const two = [input('1', 't1', { age: '1' }), input('2', 't2', { age: 'x' }), input('3', 't3')];
    expect(classifyBatchAnswer(two, http(400, body))).toMatchObject({
      poison: { traceIds: [], suspects: ['t1', 't2'] },
    });
    const one = [input('1', 't1', { age: 'x' }), input('3', 't3')];
    expect(classifyBatchAnswer(one, http(400, body))).toMatchObject({
      poison: { traceIds: ['t1'], suspects: [], badProperties: { t1: [{ name: 'age' }] } },
    });
  });

  it('keeps two rejected values of one property apart', () => {
    const message =
      'Property values were not valid: [{"isValid":false,"message":"\\"a\\" is not a valid number.","error":' +
      '"INVALID_INTEGER","name":"age"},{"isValid":false,"message":"\\"b\\" is not a valid number.","error":' +
      '"INVALID_INTEGER","name":"age"}]';
    const inputs = [
      input('1', 't1', { age: 'a' }),
      input('2', 't2', { age: '3' }),
      input('3', 't3', { age: 'b' }),
    ];
    const verdict = classifyBatchAnswer(inputs, http(400, bad(message)));
    expect(verdict).toMatchObject({
      poison: {
        traceIds: ['t1', 't3'],
        badProperties: {
          t1: [{ name: 'age', message: '"a" is not a valid number.' }],
          t3: [{ name: 'age', message: '"b" is not a valid number.' }],
        },
      },
    });
  });

  it('pins the inputs of a simulator-built 400 the same way', () => {
    const issue = checkProperty(builtInSchemas().contacts!, 'age', '42\n');
    if (!issue) throw new Error('expected an issue');
    const inputs = [input('1', 't1', { age: '42' }), input('2', 't2', { age: '42\n' })];
    expect(classifyBatchAnswer(inputs, http(400, invalidPropertiesBody([issue], 'c')))).toMatchObject({
      poison: { traceIds: ['t2'], suspects: [] },
    });
  });

  it('reads duplicate ids from the message and the context without implicating the inputs', () => {
    const inputs = [input('123456', 't1'), input('123456', 't2'), input('7', 't3')];
    const body = bad('Duplicate IDs found in batch input: [123456]. IDs must be unique', {
      context: { ids: ['123456'] },
    });
    expect(classifyBatchAnswer(inputs, http(400, body))).toMatchObject({
      kind: 'rejected',
      poison: { traceIds: [], ids: ['123456'], duplicateIds: ['123456'], batchTooLarge: false },
    });
  });

  it('finds duplicates among the inputs when HubSpot does not list them', () => {
    const inputs = [input('5', 't1'), input('5', 't2'), input('6', 't3')];
    const verdict = classifyBatchAnswer(inputs, http(400, bad('Duplicate IDs found in batch input')));
    expect(verdict).toMatchObject({ poison: { duplicateIds: ['5'] } });
  });

  it('reads a non-unique idProperty and implicates the inputs using it', () => {
    const inputs = [input('a@x.com', 't1', {}, 'email'), input('1', 't2')];
    const body = bad('Unable to perform update/upsert by non-unique 0-1 property email in portal ID 12345');
    expect(classifyBatchAnswer(inputs, http(400, body))).toMatchObject({
      poison: { nonUniqueIdProperty: 'email', traceIds: ['t1'] },
    });
  });

  it('flags a batch that is too large', () => {
    const body = bad(
      'The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again',
    );
    expect(classifyBatchAnswer([input('1', 't1')], http(400, body))).toMatchObject({
      poison: { batchTooLarge: true, traceIds: [] },
    });
  });

  it('names inputs by trace id when HubSpot attributes the 400', () => {
    const body = bad('Invalid input', {
      errors: [{ message: 'bad', context: { objectWriteTraceId: ['t2'] } }],
    });
    const verdict = classifyBatchAnswer([input('1', 't1'), input('2', 't2')], http(400, body));
    expect(verdict).toMatchObject({ poison: { traceIds: ['t2'] } });
  });

  it('rejects a 400 without a JSON body with an empty hint', () => {
    expect(classifyBatchAnswer([input('1', 't1')], http(400, '<html>Bad Request</html>'))).toEqual({
      kind: 'rejected',
      error: {
        category: 'VALIDATION_ERROR',
        message: 'HTTP 400 from HubSpot (non-JSON body)',
        httpStatus: 400,
      },
      poison: {
        traceIds: [],
        badProperties: {},
        suspects: [],
        ids: [],
        properties: [],
        duplicateIds: [],
        batchTooLarge: false,
      },
    });
  });
});

describe('classifyBatchAnswer: other HTTP statuses', () => {
  const inputs = [input('1', 't1')];

  it('401 expired token is an auth failure carrying HubSpot category', () => {
    const body = {
      status: 'error',
      message: 'The OAuth token used to make this call expired 75 second(s) ago.',
      correlationId: 'c-401',
      category: 'EXPIRED_AUTHENTICATION',
      context: { 'expire time': ['2024-01-01T00:00:00Z'] },
    };
    expect(classifyBatchAnswer(inputs, http(401, body))).toEqual({
      kind: 'authFailed',
      error: {
        category: 'EXPIRED_AUTHENTICATION',
        message: body.message,
        httpStatus: 401,
        correlationId: 'c-401',
      },
    });
  });

  it('401 without category defaults to INVALID_AUTHENTICATION', () => {
    expect(classifyBatchAnswer(inputs, http(401, ''))).toMatchObject({
      kind: 'authFailed',
      error: { category: 'INVALID_AUTHENTICATION', message: 'HTTP 401 from HubSpot (empty body)' },
    });
  });

  it('403 missing scopes is an auth failure', () => {
    const body = {
      status: 'error',
      message: 'This app hasn\u2019t been granted all required scopes',
      category: 'MISSING_SCOPES',
      context: { requiredGranularScopes: ['crm.objects.contacts.write'] },
    };
    expect(classifyBatchAnswer(inputs, http(403, body))).toMatchObject({
      kind: 'authFailed',
      error: { category: 'MISSING_SCOPES', httpStatus: 403 },
    });
  });

  it('413 asks for the part to be split, keeping HubSpot category or PAYLOAD_TOO_LARGE', () => {
    expect(classifyBatchAnswer(inputs, http(413, '<html>Request Entity Too Large</html>'))).toEqual({
      kind: 'tooLarge',
      reason: 'payload_too_large',
      error: {
        category: 'PAYLOAD_TOO_LARGE',
        message: 'HTTP 413 from HubSpot (non-JSON body)',
        httpStatus: 413,
      },
    });
    const body = { status: 'error', message: 'too big', category: 'REQUEST_TOO_LARGE' };
    expect(classifyBatchAnswer(inputs, http(413, body))).toMatchObject({
      kind: 'tooLarge',
      error: { category: 'REQUEST_TOO_LARGE', message: 'too big', httpStatus: 413 },
    });
  });

  it.each([404, 409, 415, 422])('%i fails every input', (status) => {
    const verdict = classifyBatchAnswer(
      inputs,
      http(status, { status: 'error', message: 'nope', category: 'X' }),
    );
    expect(verdict).toEqual({
      kind: 'failAll',
      error: { category: 'X', message: 'nope', httpStatus: status },
    });
  });

  it('404 from a gateway gets a default category', () => {
    expect(classifyBatchAnswer(inputs, http(404, '<html>Not Found</html>'))).toMatchObject({
      kind: 'failAll',
      error: { category: 'NOT_FOUND', message: 'HTTP 404 from HubSpot (non-JSON body)' },
    });
  });

  it('408 retries as a timeout', () => {
    expect(classifyBatchAnswer(inputs, http(408, ''))).toMatchObject({ kind: 'retry', reason: 'timeout' });
  });

  it('423 retries as locked, passing Retry-After when present', () => {
    expect(classifyBatchAnswer(inputs, http(423, ''))).toEqual({
      kind: 'retry',
      reason: 'locked_423',
      error: { category: 'LOCKED', message: 'HTTP 423 from HubSpot (empty body)', httpStatus: 423 },
    });
    expect(classifyBatchAnswer(inputs, http(423, '', { retryAfterMs: 3000 }))).toMatchObject({
      retryAfterMs: 3000,
    });
  });

  it('477 retries as a migration with its Retry-After', () => {
    const verdict = classifyBatchAnswer(
      inputs,
      http(477, { message: 'Migration in progress' }, { retryAfterMs: 7_200_000 }),
    );
    expect(verdict).toEqual({
      kind: 'retry',
      reason: 'migration_477',
      retryAfterMs: 7_200_000,
      error: { category: 'MIGRATION_IN_PROGRESS', message: 'Migration in progress', httpStatus: 477 },
    });
  });

  it.each([
    ['TEN_SECONDLY_ROLLING', 'You have reached your ten_secondly_rolling limit.'],
    ['DAILY', 'You have reached your daily limit.'],
    ['SECONDLY', 'You have reached your secondly limit.'],
  ])('429 %s is rate limited with its policy', (policyName, message) => {
    const body = {
      status: 'error',
      message,
      errorType: 'RATE_LIMIT',
      correlationId: 'c-429',
      policyName,
      groupName: 'publicapi:x',
    };
    expect(classifyBatchAnswer(inputs, http(429, body, { retryAfterMs: 1500 }))).toEqual({
      kind: 'rateLimited',
      policyName,
      retryAfterMs: 1500,
      error: { category: 'RATE_LIMIT', message, httpStatus: 429, correlationId: 'c-429' },
    });
  });

  it('429 without policyName infers it from the message, else UNKNOWN', () => {
    const daily = { status: 'error', message: 'You have reached your daily limit.' };
    expect(classifyBatchAnswer(inputs, http(429, daily))).toMatchObject({ policyName: 'DAILY' });
    const rolling = { message: 'You have reached your ten_secondly_rolling limit.' };
    expect(classifyBatchAnswer(inputs, http(429, rolling))).toMatchObject({
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(classifyBatchAnswer(inputs, http(429, ''))).toMatchObject({
      kind: 'rateLimited',
      policyName: 'UNKNOWN',
      error: { category: 'RATE_LIMIT' },
    });
  });

  it.each([500, 502, 503, 504])('%i with an HTML body retries as a server error', (status) => {
    const html = `<html><body><h1>${status} Bad Gateway</h1></body></html>`;
    expect(classifyBatchAnswer(inputs, http(status, html, { correlationId: 'hdr' }))).toEqual({
      kind: 'retry',
      reason: 'server_error',
      error: {
        category: 'SERVER_ERROR',
        message: `HTTP ${status} from HubSpot (non-JSON body)`,
        httpStatus: status,
        correlationId: 'hdr',
      },
    });
  });

  it('a 5xx JSON body keeps HubSpot category and message; Retry-After is passed on', () => {
    const body = {
      status: 'error',
      message: 'internal error',
      category: 'INTERNAL_ERROR',
      correlationId: 'body',
    };
    expect(
      classifyBatchAnswer(inputs, http(503, body, { retryAfterMs: 2000, correlationId: 'hdr' })),
    ).toEqual({
      kind: 'retry',
      reason: 'server_error',
      retryAfterMs: 2000,
      error: {
        category: 'INTERNAL_ERROR',
        message: 'internal error',
        httpStatus: 503,
        correlationId: 'body',
      },
    });
  });

  it('a 3xx retries as an unexpected response', () => {
    expect(classifyBatchAnswer(inputs, http(302, ''))).toMatchObject({
      kind: 'retry',
      reason: 'unexpected_response',
      error: { category: 'HTTP_302' },
    });
  });

  it('clips very long messages', () => {
    const verdict = classifyBatchAnswer(inputs, http(400, { message: 'x'.repeat(5000) }));
    if (verdict.kind !== 'rejected') throw new Error(verdict.kind);
    expect(verdict.error.message.length).toBeLessThanOrEqual(1000);
  });
});

describe('classifyBatchAnswer: transport failures', () => {
  it.each([
    ['TIMEOUT', 'timeout'],
    ['CONNECTION_RESET', 'connection_reset'],
    ['CONNECTION_REFUSED', 'connection_refused'],
    ['NETWORK_ERROR', 'network'],
    ['ABORTED', 'aborted'],
  ] as const)('%s retries as %s', (code: TransportErrorCode, reason) => {
    const answer: HubSpotAnswer = {
      kind: 'transport',
      code,
      message: `${code}: POST /x failed`,
      latencyMs: 1,
    };
    expect(classifyBatchAnswer([input('1', 't1')], answer)).toEqual({
      kind: 'retry',
      reason,
      error: { category: code, message: `${code}: POST /x failed` },
    });
  });
});

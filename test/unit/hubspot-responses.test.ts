import { describe, expect, it } from 'vitest';
import {
  isBatchTooLargeMessage,
  offendingValue,
  parseDuplicateIds,
  parseInvalidPropertiesMessage,
  parseNonUniqueIdProperty,
} from '../../src/hubspot/error-messages.js';
import { headerValue, parseRateLimitHeaders, parseRetryAfterMs } from '../../src/hubspot/headers.js';
import { contextStrings, parseBatchResponse, parseErrorBody } from '../../src/hubspot/responses.js';

describe('parseRateLimitHeaders', () => {
  it('reads every HubSpot header', () => {
    expect(
      parseRateLimitHeaders({
        'x-hubspot-ratelimit-max': '190',
        'x-hubspot-ratelimit-remaining': '189',
        'x-hubspot-ratelimit-interval-milliseconds': '10000',
        'x-hubspot-ratelimit-daily': '625000',
        'x-hubspot-ratelimit-daily-remaining': '624999',
        'x-hubspot-ratelimit-secondly': '19',
        'x-hubspot-ratelimit-secondly-remaining': ['18', '17'],
      }),
    ).toEqual({
      max: 190,
      remaining: 189,
      intervalMs: 10000,
      daily: 625000,
      dailyRemaining: 624999,
      secondly: 19,
      secondlyRemaining: 18,
    });
  });

  it('leaves out missing and unparsable headers', () => {
    expect(
      parseRateLimitHeaders({
        'x-hubspot-ratelimit-max': 'lots',
        'x-hubspot-ratelimit-remaining': '-1',
        'x-hubspot-ratelimit-daily': '1.5',
        'x-hubspot-ratelimit-daily-remaining': '',
        'x-hubspot-ratelimit-interval-milliseconds': ' 10000 ',
      }),
    ).toEqual({ intervalMs: 10000 });
  });

  it('leaves out values outside a sane range, so one absurd header cannot stretch or stall the limiter', () => {
    expect(
      parseRateLimitHeaders({
        'x-hubspot-ratelimit-max': '0',
        'x-hubspot-ratelimit-remaining': '100001',
        'x-hubspot-ratelimit-interval-milliseconds': '86400000',
        'x-hubspot-ratelimit-daily': '100000001',
        'x-hubspot-ratelimit-daily-remaining': '99999999999',
        'x-hubspot-ratelimit-secondly': '0',
      }),
    ).toEqual({});
    expect(
      parseRateLimitHeaders({
        'x-hubspot-ratelimit-interval-milliseconds': '99',
        'x-hubspot-ratelimit-max': '100000',
        'x-hubspot-ratelimit-daily': '100000000',
        'x-hubspot-ratelimit-daily-remaining': '0',
      }),
    ).toEqual({ max: 100_000, daily: 100_000_000, dailyRemaining: 0 });
    expect(parseRateLimitHeaders({ 'x-hubspot-ratelimit-interval-milliseconds': '60000' })).toEqual({
      intervalMs: 60_000,
    });
  });

  it('matches header names case-insensitively', () => {
    expect(headerValue({ 'retry-after': '3' }, 'Retry-After')).toBe('3');
    expect(headerValue({ 'retry-after': 3 }, 'retry-after')).toBe('3');
    expect(headerValue({}, 'retry-after')).toBeUndefined();
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfterMs('10', now)).toBe(10_000);
    expect(parseRetryAfterMs(' 0 ', now)).toBe(0);
    expect(parseRetryAfterMs('1.5', now)).toBe(1500);
    expect(parseRetryAfterMs('7200', now)).toBe(7_200_000);
  });
  it('reads HTTP dates, past ones as 0', () => {
    expect(parseRetryAfterMs('Wed, 01 May 2024 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterMs('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores garbage', () => {
    for (const v of [undefined, '', '-5', 'soon', '1e3'])
      expect(parseRetryAfterMs(v, now), String(v)).toBeUndefined();
  });
});

describe('body schemas', () => {
  it('parse leniently: odd scalar fields become undefined, unknown fields pass through', () => {
    const body = parseErrorBody({ status: 'error', message: 5, category: 'X', extra: { a: 1 } });
    expect(body).toMatchObject({ status: 'error', message: undefined, category: 'X', extra: { a: 1 } });
    expect(parseErrorBody('<html/>')).toBeUndefined();
    expect(parseErrorBody(null)).toBeUndefined();
  });

  it('reject a batch body whose errors are not objects, so no error is silently lost', () => {
    expect(parseBatchResponse({ status: 'COMPLETE', errors: ['boom'] })).toBeUndefined();
    expect(
      parseBatchResponse({ status: 'COMPLETE', results: [{ id: 1, properties: { a: null } }] }),
    ).toMatchObject({
      results: [{ id: '1' }],
    });
  });

  it('normalise context values to string lists', () => {
    const body = parseBatchResponse({
      status: 'COMPLETE',
      errors: [{ context: { ids: [1, '2', null], objectWriteTraceId: 't1', propertyName: 'foo' } }],
    });
    const context = body?.errors?.[0]?.context;
    expect(contextStrings(context, 'ids')).toEqual(['1', '2']);
    expect(contextStrings(context, 'objectWriteTraceId')).toEqual(['t1']);
    expect(contextStrings(context, 'propertyName')).toEqual(['foo']);
    expect(contextStrings(context, 'missing')).toEqual([]);
    expect(contextStrings(undefined, 'ids')).toEqual([]);
  });
});

describe('message parsers', () => {
  it('parse the property list of a 400 message', () => {
    const message =
      'Property values were not valid: [{"isValid":false,"message":"Property \\"foo\\" does not exist","error":' +
      '"PROPERTY_DOESNT_EXIST","name":"foo"},{"isValid":false,"message":"\\"abc\\" is not a valid number.",' +
      '"error":"INVALID_INTEGER","name":"age"}]';
    expect(parseInvalidPropertiesMessage(message)).toEqual([
      { name: 'foo', code: 'PROPERTY_DOESNT_EXIST', message: 'Property "foo" does not exist' },
      { name: 'age', code: 'INVALID_INTEGER', message: '"abc" is not a valid number.', value: 'abc' },
    ]);
  });

  it('recover the complete entries of a cut-off list', () => {
    const message =
      'Property values were not valid: [{"isValid":false,"message":"x was not a valid number.","error":' +
      '"INVALID_INTEGER","name":"age"},{"isValid":false,"message":"Proper';
    expect(parseInvalidPropertiesMessage(message)).toEqual([
      { name: 'age', code: 'INVALID_INTEGER', message: 'x was not a valid number.', value: 'x' },
    ]);
    expect(parseInvalidPropertiesMessage('Property values were not valid')).toEqual([]);
    expect(parseInvalidPropertiesMessage('something else [1]')).toEqual([]);
    expect(parseInvalidPropertiesMessage(undefined)).toEqual([]);
  });

  it('extract offending values', () => {
    expect(offendingValue('"abc" is not a valid number.')).toEqual({ value: 'abc' });
    expect(offendingValue('abc was not a valid number.')).toEqual({ value: 'abc' });
    expect(offendingValue('nope was not one of the allowed options: [a, b]')).toEqual({ value: 'nope' });
    expect(offendingValue('x@ is not a valid email address')).toEqual({ value: 'x@' });
    expect(offendingValue('Property "foo" does not exist')).toBeUndefined();
    expect(offendingValue('"createdate" is a read only property; its value cannot be set.')).toBeUndefined();
  });

  it('unescape a quoted value HubSpot JSON-escaped, keeping the text as written', () => {
    // The message as HubSpot writes it for "42\n": the value JSON-escaped between quotes.
    expect(offendingValue('"42\\n" includes leading or trailing whitespace.')).toEqual({
      value: '42\n',
      rawValue: '42\\n',
    });
    expect(offendingValue('"\\u00a0lead" includes leading or trailing whitespace.')).toEqual({
      value: '\u00a0lead',
      rawValue: '\\u00a0lead',
    });
    expect(offendingValue('"say \\"hi\\"" is not a valid number.')).toEqual({
      value: 'say "hi"',
      rawValue: 'say \\"hi\\"',
    });
    // Not valid JSON escapes: the text is taken as written.
    expect(offendingValue('"C:\\q" is not a valid number.')).toEqual({ value: 'C:\\q' });
  });

  it("parse HubSpot's LEADING_TRAILING_WHITESPACE 400 message", () => {
    const message =
      'Property values were not valid: [{"isValid":false,"message":"\\"42\\\\n\\" includes leading or trailing ' +
      'whitespace.","error":"LEADING_TRAILING_WHITESPACE","name":"age"}]';
    expect(parseInvalidPropertiesMessage(message)).toEqual([
      {
        name: 'age',
        code: 'LEADING_TRAILING_WHITESPACE',
        message: '"42\\n" includes leading or trailing whitespace.',
        value: '42\n',
        rawValue: '42\\n',
      },
    ]);
  });

  it('parse duplicate ids', () => {
    expect(parseDuplicateIds('Duplicate IDs found in batch input: [123456]. IDs must be unique')).toEqual([
      '123456',
    ]);
    expect(parseDuplicateIds('Duplicate IDs found in batch input: [1, 2, "a@x.com"]')).toEqual([
      '1',
      '2',
      'a@x.com',
    ]);
    expect(parseDuplicateIds('Duplicate IDs found in batch input')).toEqual([]);
    expect(parseDuplicateIds('Property values were not valid')).toBeUndefined();
  });

  it('parse a non-unique idProperty', () => {
    expect(
      parseNonUniqueIdProperty(
        'Unable to perform update/upsert by non-unique 0-1 property email in portal ID 123',
      ),
    ).toBe('email');
    expect(parseNonUniqueIdProperty('Unable to perform update by non-unique property my_prop')).toBe(
      'my_prop',
    );
    expect(parseNonUniqueIdProperty('all fine')).toBeUndefined();
  });

  it('recognise a batch that is too large', () => {
    expect(
      isBatchTooLargeMessage(
        'The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again',
      ),
    ).toBe(true);
    expect(isBatchTooLargeMessage('other')).toBe(false);
  });
});

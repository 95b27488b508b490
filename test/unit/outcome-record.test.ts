/**
 * Outcome records in both stored shapes: format 1 (a positional array, finish.lua) and the objects written before
 * it, which a queue holds until they expire.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeStoredOutcome,
  fingerprintOfRecord,
  OutcomeRecordError,
  parseOutcomeRecord,
  parseStoredRecord,
} from '../../src/outcomes/record.js';
import { parseOutcomeEntry } from '../../src/outcomes/stream.js';

const full = [
  1,
  '',
  'failed',
  'acct',
  'contacts',
  'ada@example.com',
  3,
  1_765_000_000_000,
  2_500,
  '901',
  'email',
  'interactive',
  ['VALIDATION_ERROR', 'Property "x" does not exist', 400],
  40,
  'fp1',
  'b1,b2',
];

describe('an outcome record', () => {
  it('of format 1 reads every field, times as offsets from the enqueue, the trace from its key', () => {
    expect(decodeStoredOutcome(full, 'tr-1')).toEqual({
      objectWriteTraceId: 'tr-1',
      status: 'failed',
      account: 'acct',
      objectType: 'contacts',
      id: 'ada@example.com',
      idProperty: 'email',
      attempts: 3,
      enqueuedAt: 1_765_000_000_000,
      finishedAt: 1_765_000_002_500,
      ingestedAt: 1_765_000_000_040,
      hubspotObjectId: '901',
      fp: 'fp1',
      hist: 'b1,b2',
      priority: 'interactive',
      error: { category: 'VALIDATION_ERROR', message: 'Property "x" does not exist', httpStatus: 400 },
    });
  });

  it('of format 1 names its trace itself in a stream entry, and leaves absent fields out', () => {
    const out = decodeStoredOutcome(
      [1, 'tr-2', 'queued', 'a', 'deals', '7', 0, 5, '', '', '', '', '', 3],
      'ignored',
    );
    expect(out).toEqual({
      objectWriteTraceId: 'tr-2',
      status: 'queued',
      account: 'a',
      objectType: 'deals',
      id: '7',
      attempts: 0,
      enqueuedAt: 5,
      ingestedAt: 8,
    });
  });

  it('of the older object shape reads as it was written', () => {
    const old = {
      objectWriteTraceId: 'tr-3',
      status: 'succeeded',
      account: 'a',
      objectType: 'contacts',
      id: '1',
      attempts: 1,
      enqueuedAt: 10,
      finishedAt: 20,
      fp: 'fp3',
      hist: 'b9',
    };
    expect(parseStoredRecord(JSON.stringify(old), 'tr-3')).toEqual(old);
    expect(fingerprintOfRecord(JSON.stringify(old))).toBe('fp3');
    expect(parseOutcomeRecord(JSON.stringify(old))).not.toHaveProperty('fp');
    expect(parseOutcomeRecord(JSON.stringify(old))).not.toHaveProperty('hist');
  });

  it('hands users no internal field', () => {
    const out = parseOutcomeRecord(JSON.stringify(full), 'tr-1');
    expect(out).not.toHaveProperty('fp');
    expect(out).not.toHaveProperty('hist');
    expect(out).not.toHaveProperty('ingestedAt');
    expect(fingerprintOfRecord(JSON.stringify(full))).toBe('fp1');
  });

  it('is refused with a named error when it is of no known shape', () => {
    for (const bad of [[2, '', 'queued'], [1, '', 'lost'], [1, ''], 'text', 7, null]) {
      expect(() => decodeStoredOutcome(bad, 't')).toThrow(OutcomeRecordError);
    }
    expect(() => parseStoredRecord('not json', 't')).toThrow(SyntaxError);
    expect(fingerprintOfRecord('not json')).toBeUndefined();
    expect(() => decodeStoredOutcome([9], 't')).toThrow(
      expect.objectContaining({ code: 'OUTCOME_RECORD_UNREADABLE' }),
    );
  });

  it('of a stream entry that cannot be read is left out alone, not with the entry', () => {
    const good = [1, 'tr-5', 'succeeded', 'a', 'contacts', '1', 1, 10, 5];
    const entry = parseOutcomeEntry(['1-0', ['o', JSON.stringify([good, [1, 't-2', 'cancelled'], [7]])]]);
    expect(entry.outcomes.map((o) => o.objectWriteTraceId)).toEqual(['tr-5']);
    expect(parseOutcomeEntry(['2-0', ['o', 'not json']]).outcomes).toEqual([]);
    expect(parseOutcomeEntry(['3-0', ['o', '{}']]).outcomes).toEqual([]);
  });
});

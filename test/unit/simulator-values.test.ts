import { describe, expect, it } from 'vitest';
import { invalidPropertiesBody } from '../../src/simulator/errors.js';
import { FaultPlanner } from '../../src/simulator/faults.js';
import { mulberry32 } from '../../src/simulator/prng.js';
import { builtInSchemas } from '../../src/simulator/schema.js';
import { checkProperty } from '../../src/simulator/values.js';

const schemas = builtInSchemas();
const contacts = schemas.contacts!;
const deals = schemas.deals!;

describe('property value checks', () => {
  it.each([
    ['age', '42'],
    ['age', '-1.5'],
    ['hs_marketable_status', 'true'],
    ['hs_marketable_status', 'false'],
    ['lifecyclestage', 'customer'],
    ['email', 'a.b@example.co.uk'],
    ['firstname', 'anything at all'],
    ['age', ''],
    ['lifecyclestage', ''],
  ])('accepts contacts.%s = %j', (name, value) => {
    expect(checkProperty(contacts, name, value)).toBeUndefined();
  });

  it.each([
    ['age', '4 2', 'INVALID_INTEGER'],
    ['age', 'NaN', 'INVALID_INTEGER'],
    // HubSpot refuses exponent notation (seen: "1.4210854715202004e-14 was not a valid number.").
    ['age', '1e3', 'INVALID_INTEGER'],
    ['hs_marketable_status', 'TRUE', 'INVALID_BOOLEAN'],
    ['lifecyclestage', 'Customer', 'INVALID_OPTION'],
    ['email', 'nobody', 'INVALID_EMAIL'],
    ['createdate', '', 'READ_ONLY_VALUE'],
    ['nope', 'x', 'PROPERTY_DOESNT_EXIST'],
  ])('rejects contacts.%s = %j with %s', (name, value, code) => {
    expect(checkProperty(contacts, name, value)?.error).toBe(code);
  });

  it.each([
    ['age', '42\n'],
    ['age', ' 42'],
    ['hs_marketable_status', 'true '],
    ['lifecyclestage', '\u00a0customer'],
    ['lifecyclestage', 'customer\u200b'],
  ])(
    'rejects contacts.%s = %j like HubSpot: LEADING_TRAILING_WHITESPACE, value JSON-escaped',
    (name, value) => {
      expect(checkProperty(contacts, name, value)).toEqual({
        name,
        value,
        error: 'LEADING_TRAILING_WHITESPACE',
        message: `${JSON.stringify(value)} includes leading or trailing whitespace.`,
      });
    },
  );

  it('rejects padded dates and datetimes, and accepts padded strings', () => {
    expect(checkProperty(deals, 'closedate', '2024-02-29\n')?.error).toBe('LEADING_TRAILING_WHITESPACE');
    expect(checkProperty(contacts, 'firstname', ' Ada\n')).toBeUndefined();
  });

  it('builds the 400 body HubSpot sends for a padded value, quoting it JSON-escaped', () => {
    const issue = checkProperty(contacts, 'age', '42\n');
    if (!issue) throw new Error('expected an issue');
    const body = invalidPropertiesBody([issue], 'c-1');
    expect(body.message).toBe(
      'Property values were not valid: [{"isValid":false,"message":"\\"42\\\\n\\" includes leading or trailing ' +
        'whitespace.","error":"LEADING_TRAILING_WHITESPACE","name":"age"}]',
    );
    expect(body).toMatchObject({
      category: 'VALIDATION_ERROR',
      errors: [
        {
          message: '"42\\n" includes leading or trailing whitespace.',
          code: 'LEADING_TRAILING_WHITESPACE',
          context: { propertyName: ['age'] },
        },
      ],
    });
  });

  it('takes dates as ISO days or midnight UTC in ms', () => {
    expect(checkProperty(deals, 'closedate', '2024-02-29')).toBeUndefined();
    expect(checkProperty(deals, 'closedate', String(Date.UTC(2024, 1, 29)))).toBeUndefined();
    expect(checkProperty(deals, 'closedate', String(Date.UTC(2024, 1, 29, 12)))?.error).toBe('INVALID_DATE');
    expect(checkProperty(deals, 'closedate', '2023-02-29')?.error).toBe('INVALID_DATE');
  });
});

describe('FaultPlanner', () => {
  it('serves scripted faults first, in order, honouring their portal', () => {
    const planner = new FaultPlanner(mulberry32(1));
    planner.set({ locked423: 1 });
    planner.failNext(2, 'canceled');
    planner.failNext(1, 'reset', { portal: 'b' });
    expect(planner.draw('a')?.kind).toBe('canceled');
    expect(planner.draw('b')?.kind).toBe('canceled');
    expect(planner.draw('a')?.kind).toBe('locked423');
    expect(planner.draw('b')?.kind).toBe('reset');
    expect(planner.draw('b')?.kind).toBe('locked423');
  });

  it('fills in fault parameters from the options', () => {
    const planner = new FaultPlanner(mulberry32(1));
    planner.set({ hangMs: 1234, migrationRetryAfterS: 60 });
    planner.failNext(1, 'hang');
    planner.failNext(1, 'migration477');
    planner.failNext(1, 'error5xx');
    expect(planner.draw('a')).toEqual({ kind: 'hang', hangMs: 1234 });
    expect(planner.draw('a')).toEqual({ kind: 'migration477', retryAfterS: 60 });
    expect([500, 502, 503]).toContain(planner.draw('a')?.status);
    expect(planner.draw('a')).toBeUndefined();
  });

  it('draws probabilistic faults at roughly their rates', () => {
    const planner = new FaultPlanner(mulberry32(5));
    planner.set({ canceled: 0.2, reset: 0.1 });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const kind = planner.draw('a')?.kind ?? 'none';
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    expect(counts.canceled).toBeGreaterThan(1_800);
    expect(counts.canceled).toBeLessThan(2_200);
    expect(counts.reset).toBeGreaterThan(850);
    expect(counts.reset).toBeLessThan(1_150);
  });
});

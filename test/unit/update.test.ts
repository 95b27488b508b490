import { describe, expect, it } from 'vitest';
import { canonicalJobData, canonicalOfJobData, parseUpdate, UpdateRequestSchema } from '../../src/update.js';

const base = { objectType: 'contacts', id: '1', properties: { firstname: 'Ada' } };

function issuesOf(input: unknown, limits = {}): string[] {
  const parsed = parseUpdate(input, limits);
  return parsed.ok ? [] : parsed.issues;
}

describe('update limits', () => {
  it('rejects a property value over 65,536 characters, naming the property', () => {
    expect(issuesOf({ ...base, properties: { notes: 'x'.repeat(65_536) } })).toEqual([]);
    expect(
      issuesOf({ ...base, properties: { firstname: 'Ada', notes: 'x'.repeat(10 * 1024 * 1024) } }),
    ).toEqual(['properties.notes: must be at most 65536 characters long']);
  });

  it('rejects more than 1,000 properties with one issue naming the count', () => {
    const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, 'v']));
    expect(issuesOf({ ...base, properties: props(1000) })).toEqual([]);
    expect(issuesOf({ ...base, properties: props(10_000) })).toEqual([
      'properties: must name at most 1000 properties (names 10000)',
    ]);
  });

  it('takes other limits when given', () => {
    const limits = { maxValueLength: 5, maxProperties: 2 };
    expect(issuesOf({ ...base, properties: { firstname: 'Grace' } }, limits)).toEqual([]);
    expect(issuesOf({ ...base, properties: { firstname: 'Grace!' } }, limits)).toEqual([
      'properties.firstname: must be at most 5 characters long',
    ]);
    expect(issuesOf({ ...base, properties: { a: 1, b: 2, c: 3 } }, limits)).toEqual([
      'properties: must name at most 2 properties (names 3)',
    ]);
    // A larger limit lets a value through that the default refuses.
    expect(
      issuesOf({ ...base, properties: { notes: 'x'.repeat(70_000) } }, { maxValueLength: 100_000 }),
    ).toEqual([]);
  });
});

describe('well-formed Unicode', () => {
  it.each([
    ['a property value', { ...base, properties: { firstname: 'Ada \ud83d' } }, 'properties.firstname'],
    ['an id', { ...base, id: 'ada\udc00' }, 'id'],
    ['a trace id', { ...base, objectWriteTraceId: 'order-\ud83d' }, 'objectWriteTraceId'],
    ['a property name', { ...base, properties: { 'first\ud83dname': 'Ada' } }, 'properties'],
  ])('rejects an unpaired surrogate in %s', (_, input, path) => {
    const issues = issuesOf(input);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.join('; ')).toMatch(
      new RegExp(`^${path.replace('.', '\\.')}.*: .*(well-formed Unicode|property name)`),
    );
  });

  it('names a bad property name by its escaped form', () => {
    expect(issuesOf({ ...base, properties: { 'first\ud83dname': 'Ada', '': 1 } })).toEqual([
      'properties: property name "first\\ud83dname" must be well-formed Unicode (it holds an unpaired surrogate)',
      'properties: property name "" must not be empty',
    ]);
  });

  it('accepts paired surrogates (emoji) and other scripts', () => {
    expect(issuesOf({ ...base, id: 'Łódź', properties: { firstname: 'Ada 🚀 ß 漢字' } })).toEqual([]);
  });

  it('rejects unpaired surrogates in names that become Redis keys', () => {
    expect(issuesOf({ ...base, account: 'acme\ud83d' })).toEqual([expect.stringMatching(/^account: /)]);
    expect(issuesOf({ ...base, objectType: 'contacts\ud83d' })).toEqual([
      expect.stringMatching(/^objectType: /),
    ]);
  });
});

describe('object types and property names', () => {
  it.each(['contacts', 'companies', 'p_cars', 'p12345_cars', '0-1', '2-12345', 'Deals'])(
    'accepts %s',
    (t) => {
      expect(issuesOf({ ...base, objectType: t })).toEqual([]);
    },
  );

  it.each(['..', '.', 'contacts/..', 'a/b', '0-1/../x', '-1', '2-', '_x', 'con tacts', '%2e%2e', 'p.cars'])(
    'rejects %s, naming objectType',
    (t) => {
      expect(issuesOf({ ...base, objectType: t })).toEqual([
        expect.stringMatching(/^objectType: must be an object type name such as "contacts"/),
      ]);
    },
  );

  it('accepts a real idProperty and rejects one that is not a property name', () => {
    expect(issuesOf({ ...base, idProperty: 'email' })).toEqual([]);
    expect(issuesOf({ ...base, idProperty: 'hs_object_id' })).toEqual([]);
    for (const bad of ['..', 'e-mail', '1email', 'a/b', 'email@x'])
      expect(issuesOf({ ...base, idProperty: bad })).toEqual([
        expect.stringMatching(/^idProperty: must be a property name/),
      ]);
  });

  it('is the schema the package exports', () => {
    expect(UpdateRequestSchema.safeParse({ ...base, objectType: '..' }).success).toBe(false);
    expect(UpdateRequestSchema.safeParse(base).success).toBe(true);
  });
});

describe('numbers go to HubSpot in plain decimal', () => {
  it('writes what JavaScript would put in exponent form as plain digits, exactly', async () => {
    const { plainDecimal, toHubSpotValue } = await import('../../src/update.js');
    expect(toHubSpotValue(0.0000001)).toBe('0.0000001');
    expect(toHubSpotValue(1e21)).toBe('1000000000000000000000');
    expect(toHubSpotValue(-1.5e-10)).toBe('-0.00000000015');
    expect(toHubSpotValue(1.2345e25)).toBe('12345000000000000000000000');
    expect(plainDecimal(42)).toBe('42');
    expect(plainDecimal(-3.25)).toBe('-3.25');
    expect(plainDecimal(123456789.125)).toBe('123456789.125');
    for (const n of [1e-7, 2.5e-12, 1e21, 9.99e22, -4e-9, 1234.5678]) {
      expect(Number(plainDecimal(n))).toBe(n);
      expect(plainDecimal(n)).not.toMatch(/e/i);
    }
  });
});

describe('priority lanes', () => {
  it('takes "interactive" or "bulk", and names the field of anything else', () => {
    expect(issuesOf({ ...base, priority: 'interactive' })).toEqual([]);
    expect(issuesOf({ ...base, priority: 'bulk' })).toEqual([]);
    expect(issuesOf({ ...base, priority: 'urgent' })).toEqual(['priority: must be "interactive" or "bulk"']);
    expect(issuesOf({ ...base, priority: 1 })).toEqual(['priority: must be "interactive" or "bulk"']);
  });

  it('keeps the lane in the canonical job data; bulk, the default, is left out', () => {
    const parse = (input: unknown) => {
      const r = parseUpdate(input);
      if (!r.ok) throw new Error(r.issues.join('; '));
      return r.update;
    };
    const traced = { ...base, objectWriteTraceId: 'tr-1' };
    const interactive = canonicalJobData(parse({ ...traced, priority: 'interactive' }));
    expect(JSON.parse(interactive)).toMatchObject({ priority: 'interactive' });
    const bulk = canonicalJobData(parse({ ...traced, priority: 'bulk' }));
    expect(bulk).toBe(canonicalJobData(parse(traced)));
    expect(bulk).not.toContain('priority');
    // Stored data from another client, in another field order, is the same update in either lane.
    expect(canonicalOfJobData(JSON.stringify({ priority: 'interactive', ...traced }), 'tr-1')).toBe(
      interactive,
    );
  });
});

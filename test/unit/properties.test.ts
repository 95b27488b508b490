import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PropertyDefinition } from '../../src/hubspot/port.js';
import { definitionMap, parsePropertyDefinitions, validateProperties } from '../../src/hubspot/properties.js';

const propertyList = {
  results: [
    {
      name: 'firstname',
      label: 'First Name',
      type: 'string',
      fieldType: 'text',
      groupName: 'contactinformation',
      options: [],
      hasUniqueValue: false,
      modificationMetadata: { archivable: true, readOnlyDefinition: true, readOnlyValue: false },
    },
    { name: 'email', type: 'string', fieldType: 'text', hasUniqueValue: true, options: [] },
    { name: 'age', type: 'number', fieldType: 'number', options: [] },
    {
      name: 'lifecyclestage',
      type: 'enumeration',
      fieldType: 'radio',
      options: [
        { label: 'Lead', value: 'lead', hidden: false, displayOrder: 0 },
        { label: 'Customer', value: 'customer', hidden: false, displayOrder: 1 },
      ],
    },
    {
      name: 'tags',
      type: 'enumeration',
      fieldType: 'checkbox',
      options: [
        { label: 'A', value: 'a' },
        { label: 'B', value: 'b' },
      ],
    },
    { name: 'dealstage', type: 'enumeration', fieldType: 'select', options: [], externalOptions: true },
    {
      name: 'opted_in',
      type: 'bool',
      fieldType: 'booleancheckbox',
      options: [
        { label: 'Yes', value: 'true' },
        { label: 'No', value: 'false' },
      ],
    },
    { name: 'birthday', type: 'date', fieldType: 'date' },
    { name: 'last_seen', type: 'datetime', fieldType: 'date' },
    {
      name: 'hs_object_id',
      type: 'number',
      fieldType: 'number',
      modificationMetadata: { readOnlyValue: true, readOnlyDefinition: true },
    },
    { name: 'score', type: 'number', calculated: true },
    { label: 'no name' },
    'garbage',
  ],
};

describe('parsePropertyDefinitions', () => {
  const defs = parsePropertyDefinitions(propertyList);

  it('keeps named, typed entries and skips the rest', () => {
    expect(defs.map((d) => d.name)).toEqual([
      'firstname',
      'email',
      'age',
      'lifecyclestage',
      'tags',
      'dealstage',
      'opted_in',
      'birthday',
      'last_seen',
      'hs_object_id',
      'score',
    ]);
  });

  it('maps options, uniqueness and read-only flags', () => {
    const byName = definitionMap(defs);
    expect(byName.get('lifecyclestage')).toEqual({
      name: 'lifecyclestage',
      type: 'enumeration',
      options: ['lead', 'customer'],
    });
    expect(byName.get('email')).toEqual({ name: 'email', type: 'string', hasUniqueValue: true });
    expect(byName.get('firstname')).toEqual({ name: 'firstname', type: 'string', hasUniqueValue: false });
    expect(byName.get('hs_object_id')?.readOnly).toBe(true);
    expect(byName.get('score')?.readOnly).toBe(true);
    expect(byName.get('dealstage')?.options).toBeUndefined();
  });

  it('throws on a body that is not a property list', () => {
    for (const body of ['<html/>', {}, null, { results: 'x' }]) {
      expect(() => parsePropertyDefinitions(body)).toThrow(
        expect.objectContaining({ code: 'UNEXPECTED_RESPONSE' }),
      );
    }
  });

  it('accepts an empty list', () => {
    expect(parsePropertyDefinitions({ results: [] })).toEqual([]);
  });
});

describe('validateProperties', () => {
  const defs = definitionMap(parsePropertyDefinitions(propertyList));
  const check = (properties: Record<string, string>) => validateProperties(defs, properties);

  it('accepts valid values of every type', () => {
    expect(
      check({
        firstname: 'Ada',
        email: 'ada@example.com',
        age: '42',
        lifecyclestage: 'customer',
        tags: 'a;b',
        dealstage: 'anything-from-a-pipeline',
        opted_in: 'TRUE',
        birthday: '2020-02-29',
        last_seen: '2024-05-01T12:30:00.123Z',
      }),
    ).toEqual([]);
    expect(check({ age: '-3.5', birthday: '1714521600000', last_seen: '1714521600000' })).toEqual([]);
    expect(
      check({ age: '.5', last_seen: '2024-05-01T12:30+02:00', birthday: '2024-05-01T00:00:00Z' }),
    ).toEqual([]);
  });

  it('accepts an empty string for any writable property', () => {
    for (const name of ['firstname', 'age', 'lifecyclestage', 'opted_in', 'birthday', 'last_seen']) {
      expect(check({ [name]: '' }), name).toEqual([]);
    }
  });

  it('rejects an unknown property like HubSpot', () => {
    expect(check({ foo: 'x' })).toEqual([
      { name: 'foo', code: 'PROPERTY_DOESNT_EXIST', message: 'Property "foo" does not exist' },
    ]);
    expect(check({ constructor: 'x' })).toMatchObject([{ code: 'PROPERTY_DOESNT_EXIST' }]);
  });

  it('rejects numbers HubSpot rejects, exponent notation included', () => {
    expect(check({ age: 'abc' })).toEqual([
      { name: 'age', code: 'INVALID_INTEGER', message: 'abc was not a valid number.' },
    ]);
    expect(check({ age: '1.4210854715202004e-14' })).toMatchObject([{ code: 'INVALID_INTEGER' }]);
    expect(check({ age: '1,000' })).toMatchObject([{ code: 'INVALID_INTEGER' }]);
  });

  it('rejects enumeration values outside the options', () => {
    expect(check({ lifecyclestage: 'Customer' })).toEqual([
      {
        name: 'lifecyclestage',
        code: 'INVALID_OPTION',
        message: 'Customer was not one of the allowed options: [lead, customer]',
      },
    ]);
    expect(check({ tags: 'a;c' })).toMatchObject([{ code: 'INVALID_OPTION' }]);
    expect(check({ tags: ';' })).toMatchObject([{ code: 'INVALID_OPTION' }]);
  });

  it('rejects booleans other than true/false', () => {
    expect(check({ opted_in: 'yes' })).toMatchObject([{ name: 'opted_in', code: 'INVALID_BOOLEAN' }]);
  });

  it('rejects dates that are not ISO dates or epoch ms', () => {
    expect(check({ birthday: '01/02/2020' })).toMatchObject([{ code: 'INVALID_DATE' }]);
    expect(check({ birthday: '2021-02-29' })).toMatchObject([{ code: 'INVALID_DATE' }]);
    expect(check({ last_seen: 'yesterday' })).toMatchObject([{ code: 'INVALID_DATETIME' }]);
    expect(check({ last_seen: '2024-13-01T00:00:00Z' })).toMatchObject([{ code: 'INVALID_DATETIME' }]);
  });

  it('rejects non-string values with leading or trailing whitespace with HubSpot code, not trimming them', () => {
    expect(check({ age: '42\n' })).toEqual([
      {
        name: 'age',
        code: 'LEADING_TRAILING_WHITESPACE',
        message: '"42\\n" includes leading or trailing whitespace.',
      },
    ]);
    for (const [name, value] of [
      ['age', ' 42'],
      ['age', '\t-3.5'],
      ['lifecyclestage', 'customer '],
      ['tags', ' a;b'],
      ['opted_in', 'true\r\n'],
      ['birthday', '2020-02-29 '],
      ['last_seen', ' 1714521600000'],
      ['age', '42\u00a0'],
      ['lifecyclestage', '\u200bcustomer'],
      ['age', ' '],
    ] as const) {
      expect(check({ [name]: value }), JSON.stringify([name, value])).toMatchObject([
        { name, code: 'LEADING_TRAILING_WHITESPACE' },
      ]);
    }
  });

  it('leaves whitespace in string values alone; pipeline-backed enumerations are checked too', () => {
    expect(check({ firstname: '  Ada \n', email: ' ada@example.com' })).toEqual([]);
    expect(check({ dealstage: 'closedwon ' })).toMatchObject([{ code: 'LEADING_TRAILING_WHITESPACE' }]);
  });

  it('rejects writes to read-only properties, clearing included', () => {
    expect(check({ hs_object_id: '5' })).toEqual([
      {
        name: 'hs_object_id',
        code: 'READ_ONLY_VALUE',
        message: '"hs_object_id" is a read only property; its value cannot be set.',
      },
    ]);
    expect(check({ score: '' })).toMatchObject([{ code: 'READ_ONLY_VALUE' }]);
  });

  it('reports every violation, in property order', () => {
    expect(check({ foo: '1', age: 'x', firstname: 'ok', opted_in: 'maybe' }).map((v) => v.name)).toEqual([
      'foo',
      'age',
      'opted_in',
    ]);
  });

  it('never rejects strings, and accepts every plain decimal for numbers', () => {
    const defsByType = new Map<string, PropertyDefinition>([
      ['s', { name: 's', type: 'string' }],
      ['n', { name: 'n', type: 'number' }],
      ['p', { name: 'p', type: 'phone_number' }],
    ]);
    fc.assert(
      fc.property(
        fc.string(),
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }),
        (s, n) => {
          const plain = n.toFixed(6);
          expect(validateProperties(defsByType, { s, p: s, n: plain })).toEqual([]);
        },
      ),
    );
  });
});

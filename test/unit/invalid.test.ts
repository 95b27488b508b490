import { describe, expect, it } from 'vitest';
import { describeUnroutable } from '../../src/worker/invalid.js';

describe('describeUnroutable', () => {
  it('says that Redis could not decode valid JSON, and where the unpaired surrogate is', () => {
    const data = JSON.stringify({ objectType: 'contacts', id: '1', properties: { firstname: 'Ada \ud83d' } });
    expect(data).toContain('\\ud83d');
    expect(describeUnroutable(data)).toEqual([
      "job data is valid JSON that Redis's Lua JSON decoder cannot read: an unpaired surrogate in properties.firstname (\\ud83d)",
    ]);
  });

  it('names other problems of undecodable data as well', () => {
    const data = JSON.stringify({
      objectType: 'contacts',
      id: '1',
      properties: { a: '\udc00', b: { x: 1 } },
    });
    expect(describeUnroutable(data)).toEqual([
      "job data is valid JSON that Redis's Lua JSON decoder cannot read: an unpaired surrogate in properties.a (\\udc00)",
      'properties.b: Invalid input',
    ]);
  });

  it('names what is wrong with data that cannot be routed', () => {
    expect(describeUnroutable(null)).toEqual(['job has no data']);
    expect(describeUnroutable('{oops')).toEqual(['job data is not valid JSON']);
    expect(describeUnroutable(JSON.stringify({ objectType: 'contacts', properties: { a: 1 } }))).toEqual([
      expect.stringMatching(/^id: /),
    ]);
    expect(
      describeUnroutable(JSON.stringify({ objectType: 'con|tacts', id: '1', properties: { a: 1 } })),
    ).toEqual([expect.stringMatching(/^objectType: must be an object type name/)]);
  });
});

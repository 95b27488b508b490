import { describe, expect, it } from 'vitest';
import { failedMember, parseFailedMember } from '../../src/keys.js';

describe('dead-letter index members', () => {
  it('carry trace id, category and job id; a job id may contain "|", a category has it replaced', () => {
    expect(failedMember('tr-1', 'OBJECT_NOT_FOUND', 't-tr-1')).toBe('tr-1|OBJECT_NOT_FOUND|t-tr-1');
    expect(parseFailedMember('tr-1|OBJECT_NOT_FOUND|t-tr-1')).toEqual({
      traceId: 'tr-1',
      category: 'OBJECT_NOT_FOUND',
      jobId: 't-tr-1',
    });
    expect(parseFailedMember(failedMember('tr-2', 'A|B', 'job|with|bars'))).toEqual({
      traceId: 'tr-2',
      category: 'A_B',
      jobId: 'job|with|bars',
    });
  });

  it('reads the earlier jobId|traceId form with an unknown category, and refuses what is neither', () => {
    expect(parseFailedMember('t-old|old')).toEqual({ traceId: 'old', category: undefined, jobId: 't-old' });
    expect(parseFailedMember('no-separator')).toBeUndefined();
    expect(parseFailedMember('|trace')).toBeUndefined();
    expect(parseFailedMember('job|')).toBeUndefined();
    expect(parseFailedMember('trace|CATEGORY|')).toBeUndefined();
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { attemptPolicyMarkdown } from '../../src/hubspot/policy.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README tables match the code', () => {
  it('the attempt-policy table is the one policy.ts renders', () => {
    expect(readme).toContain(attemptPolicyMarkdown().trimEnd());
  });
});

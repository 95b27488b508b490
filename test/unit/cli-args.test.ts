import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandUsage, findCommand, usageText } from '../../src/cli/commands.js';
import { parseFailAccountArgs, parseResumeAccountArgs } from '../../src/cli/fail-account.js';
import { parseFailedArgs, parseRetryFailedArgs } from '../../src/cli/failed.js';
import { parseObliterateArgs } from '../../src/cli/obliterate.js';
import { parseOutcomesArgs } from '../../src/cli/outcomes.js';
import { parseSimulatorArgs } from '../../src/cli/simulator.js';
import { parseStatusArgs } from '../../src/cli/status.js';
import { UsageError } from '../../src/cli/usage.js';

/** The UsageError message `fn` throws; fails the test when it throws nothing or something else. */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('command-line parsing', () => {
  it('failed: filters and a positive integer --limit; anything else is refused by name', () => {
    expect(
      parseFailedArgs(['--account', 'a', '--object-type', 'contacts', '--category', 'X', '--limit', '5']),
    ).toEqual({ account: 'a', objectType: 'contacts', category: 'X', limit: 5 });
    expect(parseFailedArgs([])).toEqual({});
    expect(usageError(() => parseFailedArgs(['--limit', 'ten']))).toContain('--limit');
    expect(usageError(() => parseFailedArgs(['--limit', 'ten']))).toContain('"ten"');
    expect(usageError(() => parseFailedArgs(['--limit', '0']))).toContain('--limit');
    expect(usageError(() => parseFailedArgs(['--limit', '2.5']))).toContain('--limit');
    expect(usageError(() => parseFailedArgs(['--acount', 'a']))).toBe('unknown flag "--acount"');
    expect(usageError(() => parseFailedArgs(['--account=']))).toContain('--account');
    expect(usageError(() => parseFailedArgs(['--account']))).toContain('--account');
    expect(usageError(() => parseFailedArgs(['a']))).toContain('"a"');
  });

  it('retry-failed: a filter or --all, never both, never neither; --dry-run', () => {
    expect(parseRetryFailedArgs(['--account', 'a'])).toEqual({ filter: { account: 'a' }, dryRun: false });
    expect(parseRetryFailedArgs(['--category', 'C', '--dry-run'])).toEqual({
      filter: { category: 'C' },
      dryRun: true,
    });
    expect(parseRetryFailedArgs(['--all', '--limit', '3'])).toEqual({ filter: { limit: 3 }, dryRun: false });
    expect(usageError(() => parseRetryFailedArgs([]))).toContain('--all');
    expect(usageError(() => parseRetryFailedArgs(['--limit', '3']))).toContain('--all');
    expect(usageError(() => parseRetryFailedArgs(['--dry-run']))).toContain('--all');
    expect(usageError(() => parseRetryFailedArgs(['--all', '--object-type', 'contacts']))).toContain('--all');
    expect(usageError(() => parseRetryFailedArgs(['--acount', 'x']))).toBe('unknown flag "--acount"');
    expect(usageError(() => parseRetryFailedArgs(['--all=yes']))).toContain('--all');
  });

  it('fail-account and resume-account need --account', () => {
    expect(parseFailAccountArgs(['--account', 'a'])).toEqual({
      account: 'a',
      reason: 'failed by an operator: account "a" is not usable',
      dryRun: false,
    });
    expect(parseFailAccountArgs(['--account', 'a', '--reason', 'revoked', '--dry-run'])).toEqual({
      account: 'a',
      reason: 'revoked',
      dryRun: true,
    });
    expect(usageError(() => parseFailAccountArgs([]))).toBe('--account is required');
    expect(usageError(() => parseFailAccountArgs(['--dry-run']))).toBe('--account is required');
    expect(usageError(() => parseFailAccountArgs(['--account', 'a', '--all']))).toBe('unknown flag "--all"');
    expect(parseResumeAccountArgs(['--account', 'a'])).toEqual({ account: 'a' });
    expect(usageError(() => parseResumeAccountArgs(['a']))).toContain('"a"');
  });

  it('obliterate: --yes or --dry-run, never both, never neither; --force', () => {
    expect(parseObliterateArgs(['--yes'])).toEqual({ force: false, dryRun: false });
    expect(parseObliterateArgs(['--yes', '--force'])).toEqual({ force: true, dryRun: false });
    expect(parseObliterateArgs(['--dry-run'])).toEqual({ force: false, dryRun: true });
    expect(usageError(() => parseObliterateArgs([]))).toContain('--yes');
    expect(usageError(() => parseObliterateArgs(['--force']))).toContain('--yes');
    expect(usageError(() => parseObliterateArgs(['--yes', '--dry-run']))).toContain('--dry-run');
    expect(usageError(() => parseObliterateArgs(['--yes=no']))).toContain('--yes');
    expect(usageError(() => parseObliterateArgs(['--yes', '--all']))).toBe('unknown flag "--all"');
    expect(usageError(() => parseObliterateArgs(['--yes', 'queue']))).toContain('"queue"');
  });

  it('status, outcomes and simulator refuse flags and arguments they do not take', () => {
    expect(parseStatusArgs(['--json'])).toEqual({ json: true });
    expect(parseStatusArgs([])).toEqual({ json: false });
    expect(usageError(() => parseStatusArgs(['--jsn']))).toBe('unknown flag "--jsn"');
    expect(parseOutcomesArgs(['-'])).toEqual({ kind: 'lookup', source: '-' });
    expect(parseOutcomesArgs([])).toEqual({ kind: 'lookup', source: undefined });
    expect(parseOutcomesArgs(['--follow'])).toEqual({ kind: 'follow', group: 'cli', startAt: 'new' });
    expect(
      parseOutcomesArgs(['--follow', '--group', 'billing', '--consumer', 'pod-1', '--from-oldest']),
    ).toEqual({
      kind: 'follow',
      group: 'billing',
      consumer: 'pod-1',
      startAt: 'oldest',
    });
    expect(usageError(() => parseOutcomesArgs(['--group', 'g']))).toBe('--group needs --follow');
    expect(usageError(() => parseOutcomesArgs(['--follow', 'ids.txt']))).toContain('not an input');
    expect(usageError(() => parseOutcomesArgs(['--follow', '--group', 'a b']))).toContain('--group expects');
    expect(usageError(() => parseOutcomesArgs(['a', 'b']))).toContain('"b"');
    expect(usageError(() => parseOutcomesArgs(['--json']))).toBe('unknown flag "--json"');
    expect(usageError(() => parseSimulatorArgs(['--port', 'x']))).toContain('--port');
    expect(usageError(() => parseSimulatorArgs(['--seed-objects', 'contacts']))).toContain('--seed-objects');
    expect(usageError(() => parseSimulatorArgs(['--prot', '1']))).toBe('unknown flag "--prot"');
  });
});

describe('command table', () => {
  it('holds each command once, and the usage text lists each with its synopsis', () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        'worker',
        'enqueue',
        'outcomes',
        'status',
        'simulator',
        'failed',
        'retry-failed',
        'fail-account',
        'resume-account',
        'obliterate',
        'demo',
        'help',
      ]),
    );
    const text = usageText();
    for (const c of COMMANDS) {
      expect(c.usage.split(' ')[0]).toBe(c.name);
      expect(text).toContain(`  ${c.usage}`);
      expect(text).toContain(c.summary);
      expect(commandUsage(c)).toContain(`usage: hubspot-batch-queue ${c.usage}\n`);
    }
    expect(findCommand('--help')?.name).toBe('help');
    expect(findCommand('-h')?.name).toBe('help');
    expect(findCommand('retry')).toBeUndefined();
  });

  it("the README's command table has a row for every command", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Commands'), readme.indexOf('## Configuration'));
    for (const c of COMMANDS.filter((command) => command.name !== 'help')) {
      expect(section).toMatch(new RegExp(`^\\| \`${c.name}[\` ]`, 'm'));
    }
  });
});

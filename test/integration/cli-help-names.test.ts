import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { unknownEnvNames } from '../helpers/config-names.js';

const CLI = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

/** The built CLI's output for `args` (help needs no Redis and no configuration). */
function run(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
}

describe("the CLI's help names only variables the config schema has", () => {
  it('in the command list and in every command usage', () => {
    const overview = run(['help']);
    const commands = [...overview.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1] ?? '');
    expect(commands).toContain('worker');
    expect(commands).toContain('simulator');
    const texts = [overview, ...commands.map((name) => run(['help', name]))];
    for (const [i, text] of texts.entries()) {
      expect(unknownEnvNames(text), i === 0 ? 'help' : `help ${commands[i - 1]}`).toEqual([]);
    }
  });
});

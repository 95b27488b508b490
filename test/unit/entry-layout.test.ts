/**
 * The binary's layout: `src/bin.ts` is the entry (argv, the environment, the exit code) and the only reader of
 * `process.env` in `src/`; it joins the command table (`src/cli/`) and the worker's process wiring
 * (`src/main.ts`), which never import each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The module specifiers a file imports or re-exports, static or dynamic. */
function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return found.map((m) => m[1] ?? '');
}

/** The file an import resolves to, relative to `src/` (`./cli/commands.js` from `src/main.ts` is `cli/commands.ts`). */
function resolved(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return relative(SRC, join(from, '..', specifier)).replace(/\.js$/, '.ts');
}

const files = sourceFiles(SRC);
const cliFiles = files.filter((f) => relative(SRC, f).startsWith('cli/'));

describe('entry layout', () => {
  it('src/main.ts imports nothing from src/cli/', () => {
    const targets = importsOf(join(SRC, 'main.ts')).map((s) => resolved(join(SRC, 'main.ts'), s));
    expect(targets.filter((t) => t?.startsWith('cli/'))).toEqual([]);
  });

  it('no file of src/cli/ imports src/main.ts or src/bin.ts', () => {
    expect(cliFiles.length).toBeGreaterThan(5);
    for (const file of cliFiles) {
      const targets = importsOf(file).map((s) => resolved(file, s));
      expect(
        targets.filter((t) => t === 'main.ts' || t === 'bin.ts'),
        relative(SRC, file),
      ).toEqual([]);
    }
  });

  it('src/bin.ts joins the two: the command table and the worker wiring', () => {
    const targets = importsOf(join(SRC, 'bin.ts')).map((s) => resolved(join(SRC, 'bin.ts'), s));
    expect(targets).toContain('main.ts');
    expect(targets.some((t) => t?.startsWith('cli/'))).toBe(true);
    expect(readFileSync(join(SRC, 'bin.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ 'hubspot-batch-queue': './dist/bin.js' });
  });

  it('nothing in src/ but src/bin.ts reads process.env', () => {
    const readers = files.filter((f) =>
      /\bprocess\.env\b/.test(readFileSync(f, 'utf8').replace(/^\s*(\*|\/\/).*$/gm, '')),
    );
    expect(readers.map((f) => relative(SRC, f))).toEqual(['bin.ts']);
  });
});

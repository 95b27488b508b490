import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config.js';
import { CONFIG_DOCS, configMarkdown } from '../../src/config-docs.js';
import { attemptPolicyMarkdown } from '../../src/hubspot/policy.js';
import { KEY_TABLE, keysMarkdown } from '../../src/keys.js';
import { createMetrics, metricsMarkdown } from '../../src/metrics.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The lines of README's table whose header row is `header`: the header and every `|` line right after it. */
function readmeTable(header: string): string[] {
  const lines = readme.split('\n');
  const start = lines.indexOf(header);
  if (start < 0) throw new Error(`README has no table headed ${header}`);
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start, end < 0 ? undefined : end);
}

/** Said when a table differs: the README is regenerated from the code, not edited by hand. */
const REGENERATE = 'README differs from the code: npm run build && node scripts/readme-tables.mjs';

/** A rendered table as lines, without its final newline. */
function linesOf(markdown: string): string[] {
  return markdown.trimEnd().split('\n');
}

/** The first column's code spans of a table's body rows, e.g. the variable names. */
function firstColumn(table: string[]): string[] {
  return table
    .slice(2)
    .flatMap((row) => [...(row.split(' | ')[0] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''));
}

describe('README tables match the code', () => {
  it('the attempt-policy table is the one policy.ts renders', () => {
    const rendered = linesOf(attemptPolicyMarkdown());
    expect(readmeTable(rendered[0] ?? ''), REGENERATE).toEqual(rendered);
  });

  it('the configuration table is the one config.ts renders from the schema', () => {
    const rendered = linesOf(configMarkdown());
    expect(readmeTable(rendered[0] ?? ''), REGENERATE).toEqual(rendered);
  });

  it('the configuration table names every schema variable once, and nothing else', () => {
    const schemaVariables = Object.keys(ConfigSchema.shape);
    expect(Object.keys(CONFIG_DOCS).sort()).toEqual([...schemaVariables].sort());
    expect(firstColumn(readmeTable('| variable | default | meaning |'))).toEqual(schemaVariables);
  });

  it('the configuration table quotes the defaults an empty environment gets', () => {
    const defaults: Record<string, unknown> = ConfigSchema.parse({});
    for (const row of readmeTable('| variable | default | meaning |').slice(2)) {
      const [variable = '', shown = ''] = row.slice(2).split(' | ');
      const value = defaults[variable.replaceAll('`', '')];
      if (value === undefined) expect(shown, variable).not.toMatch(/^`/);
      else expect(shown.startsWith(`\`${String(value)}\``), `${variable}: ${shown}`).toBe(true);
    }
  });

  it('the Redis key table is the one keys.ts renders from its key table, one row per key', () => {
    const rendered = linesOf(keysMarkdown());
    expect(readmeTable(rendered[0] ?? ''), REGENERATE).toEqual(rendered);
    expect(rendered.length - 2).toBe(Object.keys(KEY_TABLE).length);
  });

  it('the metrics table is the one rendered from the metrics createMetrics registers', () => {
    const rendered = linesOf(metricsMarkdown());
    expect(readmeTable(rendered[0] ?? ''), REGENERATE).toEqual(rendered);
  });

  it('the metrics table lists every metric createMetrics registers, and its process row covers the defaults', () => {
    const own = new Registry();
    createMetrics(own, { defaultMetrics: false });
    const ownNames = own.getMetricsAsArray().map((m) => m.name);
    const listed = firstColumn(readmeTable('| metric | type | labels | meaning |'));
    expect(listed.filter((name) => !name.endsWith('*'))).toEqual(ownNames);

    const all = new Registry();
    createMetrics(all);
    const defaults = all
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => !ownNames.includes(name));
    expect(defaults.length).toBeGreaterThan(0);
    const patterns = listed.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1));
    expect(patterns).toEqual(['hbq_process_', 'hbq_nodejs_']);
    for (const name of defaults)
      expect(
        patterns.some((p) => name.startsWith(p)),
        name,
      ).toBe(true);
    all.clear();
  });
});

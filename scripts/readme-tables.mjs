// Rewrites the README's generated tables (attempt policy, configuration, metrics, Redis keys) from the built code. After
// changing what they show: `npm run build && node scripts/readme-tables.mjs`; test/unit/readme-tables.test.ts
// fails until the README matches.
import { readFileSync, writeFileSync } from 'node:fs';
import { configMarkdown } from '../dist/config-docs.js';
import { attemptPolicyMarkdown } from '../dist/hubspot/policy.js';
import { keysMarkdown } from '../dist/keys.js';
import { metricsMarkdown } from '../dist/metrics.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8').split('\n');
for (const table of [attemptPolicyMarkdown(), configMarkdown(), metricsMarkdown(), keysMarkdown()]) {
  const lines = table.trimEnd().split('\n');
  // A table is found by its header row, and runs over every `|` line after it.
  const start = readme.indexOf(lines[0]);
  if (start < 0) throw new Error(`README.md has no table headed ${lines[0]}`);
  let end = start + 1;
  while (end < readme.length && readme[end].startsWith('|')) end++;
  readme.splice(start, end - start, ...lines);
}
writeFileSync(path, readme.join('\n'));

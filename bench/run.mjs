// `npm run bench`: runs every benchmark suite against the built code and writes BENCHMARKS.md.
// Each suite is a module exporting `run({ redisUrl, log })` that resolves to a Markdown section.
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';

const suites =
  process.argv.slice(2).length > 0
    ? process.argv.slice(2)
    : [
        'queue-cost',
        'queue-cost-profile',
        'thousand-accounts',
        'cluster',
        'real-windows',
        'rate-limit',
        'outcome-stream',
        'lanes',
      ];
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = (text) => process.stderr.write(`${text}\n`);

function redisVersion() {
  try {
    const info = execSync(`redis-cli -u ${redisUrl} INFO server`, { encoding: 'utf8' });
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const sections = [];
for (const name of suites) {
  log(`== ${name}`);
  const suite = await import(`./${name}.mjs`);
  sections.push(await suite.run({ redisUrl, log }));
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = [
  '# Benchmarks',
  '',
  'Written by `npm run bench`; every figure below was measured in the same run, with its baseline, on this machine:',
  '',
  `- ${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Redis ${redisVersion()}`,
  `- run at ${new Date().toISOString()}`,
  '',
].join('\n');
writeFileSync('BENCHMARKS.md', `${header}\n${sections.join('\n\n')}\n`);
log('wrote BENCHMARKS.md');

// Where a drain's cost goes (issue 16), as a section of BENCHMARKS.md: bench/queue-cost/measure.mjs in a process
// of its own (it starts a private redis-server, so the server-wide figures are the workload's alone), ours next to
// BullMQ's no-op worker at its best settings, then a profile pass of ours. BENCH_BASE_DISTS (comma-separated
// `dist/` folders of other builds) adds them to the same run, for before/after figures; QC_* knobs pass through.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MEASURE = fileURLToPath(new URL('./queue-cost/measure.mjs', import.meta.url));

export async function run({ log }) {
  const bases = process.env.BENCH_BASE_DISTS ?? '';
  const env = {
    ...process.env,
    ...(bases ? { QC_BASE_DIST: bases, QC_SYSTEMS: process.env.QC_SYSTEMS ?? systemsWith(bases) } : {}),
  };
  const child = spawn(process.execPath, [MEASURE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    for (const line of String(c).split('\n')) if (line.trim() !== '' && !line.includes('worker:')) log(line);
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`queue-cost/measure.mjs exited with ${code}`);
  return ['## Where a drain’s cost goes, next to BullMQ at its best (issue 16)', '', out.trim()].join('\n');
}

function systemsWith(bases) {
  const extra = bases.split(',').map((_, i) => (i === 0 ? 'ours-base' : `ours-base${i + 1}`));
  return ['ours', ...extra, 'bull-c50', 'bull-c100-roc'].join(',');
}

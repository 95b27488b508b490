import { runRealWindowCell } from './real-window.mjs';

const cell = JSON.parse(process.argv[2]);
const r = await runRealWindowCell(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', cell, (l) =>
  console.error(l),
);
const { workerLines, ...rest } = r;
console.log(JSON.stringify({ cell, ...rest, share: rest.share && +(100 * rest.share).toFixed(2) }));
for (const l of workerLines.slice(0, 5)) console.log(l.slice(0, 300));

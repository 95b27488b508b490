import { simulateLimiter } from './limiter-model.mjs';

const base = JSON.parse(process.argv[2] ?? '{}');
for (const cell of [
  { max: 100, replicas: 1 },
  { max: 100, replicas: 4 },
  { max: 100, replicas: 8 },
  { max: 190, replicas: 4 },
  { max: 250, replicas: 1 },
  { max: 250, replicas: 4 },
]) {
  const r = await simulateLimiter('redis://127.0.0.1:6379', { durationMs: 120_000, ...cell, ...base });
  console.log(
    JSON.stringify({
      ...cell,
      share: +(100 * r.share).toFixed(2),
      gapMs: Math.round(r.longestGapMs),
      intervalMs: +r.intervalMs.toFixed(1),
      most: r.mostInWindow,
      asks: r.asks,
    }),
  );
}

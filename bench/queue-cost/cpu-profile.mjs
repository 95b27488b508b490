// Summarises a V8 CPU profile (`node --cpu-prof`): self time per function and per module, from the samples.
import { readFileSync } from 'node:fs';

/** Where a function lives, shortened: `dist/worker/store.js`, `ioredis/built/Redis.js`, `node:net`. */
function whereOf(url) {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  const dist = u.indexOf('/dist/');
  if (dist >= 0) return u.slice(dist + 1);
  return u;
}

/** The package or area a function belongs to: `ours`, `ioredis`, `node`, `(garbage collector)`, ... */
function areaOf(node) {
  const url = node.callFrame.url;
  const name = node.callFrame.functionName;
  if (!url) return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes('/dist/')) return 'ours (dist)';
  if (url.includes('/bench/')) return 'benchmark driver';
  return url;
}

/**
 * Reads a `.cpuprofile`; returns `{ totalMs, functions: [{ name, where, ms, share }], areas: [{ area, ms, share }] }`
 * sorted by self time, with `(idle)` left out of the shares (it is the event loop waiting).
 */
export function summariseProfile(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  });
  const fns = new Map();
  const areas = new Map();
  let busyUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const where = cf.url ? `${whereOf(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'} ${where}`;
    const f = fns.get(key) ?? { name: cf.functionName || '(anonymous)', where, us: 0 };
    f.us += us;
    fns.set(key, f);
    const area = areaOf(node);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const share = (us) => (busyUs > 0 ? us / busyUs : 0);
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: share(f.us) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, ms: us / 1000, share: share(us) })),
  };
}

import { expect } from 'vitest';
import type { Outcome } from '../../src/outcomes/outcome.js';
import type { CallRecord, Simulator } from '../../src/simulator/index.js';
import { seededRandom } from '../../src/simulator/workload.js';
import type { UpdateRequest } from '../../src/update.js';
import { TOKEN } from './pipeline.js';

/** One object type of a mixed-addressing workload: its records and the unique properties that address them. */
export interface IdentityType {
  objectType: string;
  records: number;
  /** Unique property -> its value for record n (emails in lower case; some updates address them in upper). */
  uniques: Record<string, (n: number) => string>;
  /** Writable properties and a value drawn for each update. */
  properties: Record<string, (r: () => number) => string>;
}

/** A drain where each update addresses its record by id or by one of its unique values, chosen per update. */
export interface IdentityWorkload {
  updates: UpdateRequest[];
  /** Per update: `objectType|recordId`, whichever way the update addressed it. */
  record: string[];
}

const idOf = (n: number) => String(100_000 + n);

/** Creates every record of every type in the simulator with its unique values. */
export function seedIdentity(sim: Simulator, types: IdentityType[]): void {
  for (const t of types) {
    sim.createObjects(
      TOKEN,
      t.objectType,
      Array.from({ length: t.records }, (_, n) => ({
        id: idOf(n),
        properties: Object.fromEntries(Object.entries(t.uniques).map(([p, value]) => [p, value(n)])),
      })),
    );
  }
}

/**
 * `count` updates over `types`; a share `byUniqueShare` addresses its record by a unique value (a quarter of the
 * emails in another case), the rest by record id, interleaved. Records are skewed: a few hot ones take most.
 */
export function identityWorkload(
  types: IdentityType[],
  options: { count: number; byUniqueShare: number; seed: number; traceIdPrefix: string },
): IdentityWorkload {
  const r = seededRandom(options.seed);
  const updates: UpdateRequest[] = [];
  const record: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const t = types[Math.floor(r() * types.length)] as IdentityType;
    const n = Math.floor(t.records * r() ** 3);
    const names = Object.keys(t.properties);
    const properties: Record<string, string> = {};
    for (let p = 1 + Math.floor(r() * 3); p > 0; p--) {
      const name = names[Math.floor(r() * names.length)] as string;
      properties[name] = (t.properties[name] as (r: () => number) => string)(r);
    }
    const base = {
      objectType: t.objectType,
      properties,
      objectWriteTraceId: `${options.traceIdPrefix}-${i}`,
    };
    const uniques = Object.keys(t.uniques);
    if (r() < options.byUniqueShare && uniques.length > 0) {
      const idProperty = uniques[Math.floor(r() * uniques.length)] as string;
      let id = (t.uniques[idProperty] as (n: number) => string)(n);
      if (idProperty === 'email' && r() < 0.25) id = id.toUpperCase();
      updates.push({ ...base, id, idProperty });
    } else updates.push({ ...base, id: idOf(n) });
    record.push(`${t.objectType}|${idOf(n)}`);
  }
  return { updates, record };
}

/** The last enqueued value of every property, per record (`objectType|recordId`). */
export function lastValues(updates: UpdateRequest[], record: string[]): Map<string, Record<string, string>> {
  const state = new Map<string, Record<string, string>>();
  updates.forEach((u, i) => {
    const key = record[i] as string;
    state.set(key, { ...state.get(key), ...(u.properties as Record<string, string>) });
  });
  return state;
}

/** Properties whose value in the simulator is not the expected one, as `type|id.prop=got (want ...)`. */
export function staleOf(sim: Simulator, expected: Map<string, Record<string, string>>): string[] {
  const stale: string[] = [];
  for (const [key, props] of expected) {
    const [type, id] = key.split('|') as [string, string];
    const stored = sim.getObject(TOKEN, type, id)?.properties ?? {};
    for (const [prop, value] of Object.entries(props)) {
      if (stored[prop] !== value) stale.push(`${key}.${prop}=${stored[prop]} (want ${value})`);
    }
  }
  return stale;
}

/**
 * Every outcome terminal and truthful: succeeded ones name their record (`hubspotObjectId`), superseded ones only
 * when later updates of the same record set every one of their properties, none failed unless `mayFail` says so.
 */
export function assertTruthfulOutcomes(
  w: IdentityWorkload,
  outcomes: Array<Outcome | null>,
  mayFail: (i: number) => boolean = () => false,
): void {
  const laterSets = new Map<string, Set<string>>();
  const overtaken: boolean[] = [];
  for (let i = w.updates.length - 1; i >= 0; i--) {
    const key = w.record[i] as string;
    const later = laterSets.get(key) ?? new Set<string>();
    const names = Object.keys(w.updates[i]?.properties ?? {});
    overtaken[i] = names.every((p) => later.has(p));
    for (const p of names) later.add(p);
    laterSets.set(key, later);
  }
  const problems: string[] = [];
  outcomes.forEach((o, i) => {
    const want = (w.record[i] as string).split('|')[1];
    if (!o) problems.push(`${i}: no outcome`);
    else if (o.status === 'succeeded' && o.hubspotObjectId !== want)
      problems.push(`${i}: succeeded on ${o.hubspotObjectId}, record is ${want}`);
    else if (o.status === 'superseded' && !overtaken[i]) problems.push(`${i}: superseded but not overtaken`);
    else if (o.status === 'failed' && !mayFail(i)) problems.push(`${i}: failed ${JSON.stringify(o.error)}`);
    else if (!['succeeded', 'superseded', 'failed'].includes(o.status)) problems.push(`${i}: ${o.status}`);
  });
  expect(problems.slice(0, 20), `${problems.length} untruthful or missing outcomes`).toEqual([]);
}

/** The calls of one endpoint. */
export function callsOf(sim: Simulator, endpoint: CallRecord['endpoint']): CallRecord[] {
  return sim.calls().filter((c) => c.endpoint === endpoint);
}

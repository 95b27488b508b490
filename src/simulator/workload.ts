import type { UpdateRequest } from '../update.js';

/** A seeded PRNG (mulberry32), so workloads are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorkloadOptions {
  updates: number;
  /** Distinct objects per object type; fewer objects than updates means repeated objects. */
  objectsPerType: number;
  /** Share of objects addressed by a unique property (contacts by email, companies by domain). */
  idPropertyShare?: number;
  /** Share of updates addressed to objects that do not exist. */
  missingShare?: number;
  /** Share of updates carrying a poison value (a property that does not exist). */
  poisonShare?: number;
  objectTypes?: Array<'contacts' | 'companies'>;
  account?: string;
  seed?: number;
  traceIdPrefix?: string;
}

/** Objects the simulator must hold before the workload runs. */
export interface SeedObject {
  objectType: 'contacts' | 'companies';
  id: string;
  properties: Record<string, string>;
}

export interface Workload {
  seed: SeedObject[];
  updates: UpdateRequest[];
  /** Indexes of updates that must fail: missing objects and poison values. */
  expectedFailures: Set<number>;
}

const CONTACT_PROPS = {
  firstname: (r: () => number) => `First${Math.floor(r() * 1000)}`,
  lastname: (r: () => number) => `Last${Math.floor(r() * 1000)}`,
  city: (r: () => number) => ['Berlin', 'Paris', 'Lisbon', 'Oslo', 'Rome'][Math.floor(r() * 5)] ?? 'Berlin',
  age: (r: () => number) => Math.floor(r() * 90),
  lifecyclestage: (r: () => number) =>
    ['lead', 'customer', 'opportunity', 'subscriber'][Math.floor(r() * 4)] ?? 'lead',
};
const COMPANY_PROPS = {
  name: (r: () => number) => `Company ${Math.floor(r() * 10000)}`,
  city: (r: () => number) => ['Austin', 'Dublin', 'Tokyo', 'Lagos'][Math.floor(r() * 4)] ?? 'Austin',
  numberofemployees: (r: () => number) => Math.floor(r() * 5000),
  description: (r: () => number) => `About ${Math.floor(r() * 100000)}`,
};

function unique(objectType: 'contacts' | 'companies', n: number): { idProperty: string; value: string } {
  return objectType === 'contacts'
    ? { idProperty: 'email', value: `contact${n}@example.com` }
    : { idProperty: 'domain', value: `company${n}.example.com` };
}

/**
 * A realistic mixed workload: several object types, objects updated repeatedly, some addressed by a unique
 * property, a few updates to objects that do not exist and a few poison values. Each object is always addressed
 * the same way (by id, or by its unique property), as ordering guarantees require.
 */
export function generateWorkload(options: WorkloadOptions): Workload {
  const r = seededRandom(options.seed ?? 1);
  const types = options.objectTypes ?? ['contacts', 'companies'];
  const seed: SeedObject[] = [];
  for (const objectType of types) {
    for (let n = 0; n < options.objectsPerType; n++) {
      const u = unique(objectType, n);
      seed.push({ objectType, id: String(100_000 + n), properties: { [u.idProperty]: u.value } });
    }
  }
  const byIdProperty = (n: number) => (n * 2654435761) % 1000 < (options.idPropertyShare ?? 0.2) * 1000;
  const updates: UpdateRequest[] = [];
  const expectedFailures = new Set<number>();
  for (let i = 0; i < options.updates; i++) {
    const objectType = types[Math.floor(r() * types.length)] ?? 'contacts';
    const props = objectType === 'contacts' ? CONTACT_PROPS : COMPANY_PROPS;
    const names = Object.keys(props) as Array<keyof typeof props>;
    const properties: Record<string, string | number> = {};
    const count = 1 + Math.floor(r() * 3);
    for (let p = 0; p < count; p++) {
      const name = names[Math.floor(r() * names.length)] as keyof typeof props;
      properties[name] = (props[name] as (r: () => number) => string | number)(r);
    }
    const missing = r() < (options.missingShare ?? 0);
    const poison = !missing && r() < (options.poisonShare ?? 0);
    if (poison) properties.not_a_real_property = 'x';
    const n = Math.floor(r() * options.objectsPerType);
    const base = {
      objectType,
      properties,
      ...(options.account ? { account: options.account } : {}),
      ...(options.traceIdPrefix ? { objectWriteTraceId: `${options.traceIdPrefix}-${i}` } : {}),
    };
    if (missing) {
      updates.push({ ...base, id: String(900_000_000 + i) });
      expectedFailures.add(i);
    } else if (byIdProperty(n)) {
      updates.push({
        ...base,
        id: unique(objectType, n).value,
        idProperty: unique(objectType, n).idProperty,
      });
    } else {
      updates.push({ ...base, id: String(100_000 + n) });
    }
    if (poison) expectedFailures.add(i);
  }
  return { seed, updates, expectedFailures };
}

/**
 * The state HubSpot must end in: for every existing object (keyed `objectType|id`), the last enqueued value of
 * every property, as strings. Failed updates (missing objects, poison) are left out.
 */
export function expectedFinalState(workload: Workload): Map<string, Record<string, string>> {
  const idOf = new Map<string, string>();
  for (const s of workload.seed) {
    idOf.set(`${s.objectType}||${s.id}`, s.id);
    for (const [k, v] of Object.entries(s.properties)) idOf.set(`${s.objectType}|${k}|${v}`, s.id);
  }
  const state = new Map<string, Record<string, string>>();
  workload.updates.forEach((u, i) => {
    if (workload.expectedFailures.has(i)) return;
    const id = idOf.get(`${u.objectType}|${u.idProperty ?? ''}|${u.id}`);
    if (!id) return;
    const key = `${u.objectType}|${id}`;
    const current = state.get(key) ?? {};
    for (const [k, v] of Object.entries(u.properties)) current[k] = v === null ? '' : String(v);
    state.set(key, current);
  });
  return state;
}

import type { SchemaRegistry } from './schema.js';
import type { SimObject } from './types.js';
import { checkProperty } from './values.js';

interface StoredObject {
  id: string;
  properties: Map<string, string>;
  createdAtMs: number;
  updatedAtMs: number;
  version: number;
  /**
   * Extra values of unique properties that also name this object (a merged record's emails): they resolve to
   * it like its own values, but are not among its properties.
   */
  aliases: Map<string, Set<string>>;
}

interface TypeTable {
  objects: Map<string, StoredObject>;
  /** Unique property name -> index key of a value (see `indexKey`) -> object id; empty values are not indexed. */
  unique: Map<string, Map<string, string>>;
  /** Unique properties whose values are compared without case (emails), as HubSpot compares them. */
  caseless: Set<string>;
  nextId: number;
}

/**
 * The key a unique value is indexed under: emails are case-insensitive in any script, compared code point by code
 * point (each one's simple lower case: the first code point of its lower-case mapping, so `İ` is `i` and `Σ` is
 * `σ` wherever it stands, not `ς` at a word's end as `toLowerCase` would make it); other values exact.
 */
function indexKey(table: TypeTable, property: string, value: string): string {
  if (!table.caseless.has(property)) return value;
  return Array.from(value, (c) => String.fromCodePoint(c.toLowerCase().codePointAt(0) ?? 0)).join('');
}

/** Ids start here so seeded objects read like HubSpot's numeric record ids ("1001", "1002", ...). */
const FIRST_ID = 1001;

function snapshot(o: StoredObject): SimObject {
  const object: SimObject = {
    id: o.id,
    properties: Object.fromEntries(o.properties),
    createdAt: new Date(o.createdAtMs).toISOString(),
    updatedAt: new Date(o.updatedAtMs).toISOString(),
    version: o.version,
  };
  if (o.aliases.size > 0) {
    object.aliases = Object.fromEntries([...o.aliases].map(([name, values]) => [name, [...values]]));
  }
  return object;
}

/** The CRM objects of one portal, keyed by canonical object type name. Returns copies, never live objects. */
export class ObjectStore {
  private readonly tables = new Map<string, TypeTable>();

  constructor(private readonly schemas: SchemaRegistry) {}

  private table(objectType: string): TypeTable {
    const name = this.schemas.canonical(objectType);
    let table = this.tables.get(name);
    if (!table) {
      table = { objects: new Map(), unique: new Map(), caseless: new Set(), nextId: FIRST_ID };
      for (const p of this.schemas.resolve(name)?.schema.properties ?? []) {
        if (p.hasUniqueValue) table.unique.set(p.name, new Map());
        if (p.hasUniqueValue && p.format === 'email') table.caseless.add(p.name);
      }
      this.tables.set(name, table);
    }
    return table;
  }

  get(objectType: string, id: string): SimObject | undefined {
    const o = this.table(objectType).objects.get(id);
    return o ? snapshot(o) : undefined;
  }

  list(objectType: string): SimObject[] {
    return [...this.table(objectType).objects.values()].map(snapshot);
  }

  /** The first object whose property equals `value` (unique properties use their index). */
  findByProperty(objectType: string, property: string, value: string): SimObject | undefined {
    const table = this.table(objectType);
    const index = table.unique.get(property);
    if (index) {
      const id = index.get(indexKey(table, property, value));
      const o = id === undefined ? undefined : table.objects.get(id);
      return o ? snapshot(o) : undefined;
    }
    for (const o of table.objects.values()) if (o.properties.get(property) === value) return snapshot(o);
    return undefined;
  }

  /**
   * The id of the object an input addresses: by record id, or by the value of a unique `idProperty` (an email
   * in any case, and a merged record's emails too).
   */
  resolve(objectType: string, idProperty: string | undefined, id: string): string | undefined {
    const table = this.table(objectType);
    if (idProperty === undefined) return table.objects.has(id) ? id : undefined;
    return table.unique.get(idProperty)?.get(indexKey(table, idProperty, id));
  }

  /** The id of the object holding a unique value (as a property or an alias), if any. */
  holderOf(objectType: string, property: string, value: string): string | undefined {
    const table = this.table(objectType);
    return table.unique.get(property)?.get(indexKey(table, property, value));
  }

  /** Removes an object and frees every unique value it held; returns what it was. */
  remove(objectType: string, id: string): SimObject | undefined {
    const table = this.table(objectType);
    const o = table.objects.get(id);
    if (!o) return undefined;
    const removed = snapshot(o);
    for (const [name, index] of table.unique) {
      const values = [...(o.aliases.get(name) ?? [])];
      const own = o.properties.get(name);
      if (own !== undefined) values.push(own);
      for (const value of values) {
        const key = indexKey(table, name, value);
        if (index.get(key) === id) index.delete(key);
      }
    }
    table.objects.delete(id);
    return removed;
  }

  /**
   * Makes a unique value name object `id` too, without changing its properties (as a merge leaves the loser's
   * email to the winner). Throws when the property is not unique or another object holds the value.
   */
  addAlias(objectType: string, id: string, property: string, value: string): void {
    const table = this.table(objectType);
    const o = table.objects.get(id);
    const index = table.unique.get(property);
    if (!o) throw new Error(`no ${objectType} object ${id}`);
    if (!index) throw new Error(`${property} is not a unique property of ${objectType}`);
    if (value === '') return;
    const key = indexKey(table, property, value);
    const holder = index.get(key);
    if (holder !== undefined && holder !== id) throw new Error(`${property}=${value} is used by ${holder}`);
    index.set(key, id);
    const own = o.properties.get(property);
    if (own !== undefined && indexKey(table, property, own) === key) return;
    const values = o.aliases.get(property) ?? new Set<string>();
    values.add(value);
    o.aliases.set(property, values);
  }

  /**
   * Creates objects, assigning ids when missing. Validates like the API does and throws on the first problem,
   * because a test that seeds an impossible object is a broken test.
   */
  create(
    objectType: string,
    inputs: Array<{ id?: string; properties: Record<string, string> }>,
    nowMs = Date.now(),
  ): SimObject[] {
    const resolved = this.schemas.resolve(objectType);
    if (!resolved) throw new Error(`unknown object type ${objectType}`);
    const table = this.table(objectType);
    return inputs.map((input) => {
      for (const [name, value] of Object.entries(input.properties)) {
        const issue = checkProperty(resolved.schema, name, value);
        if (issue) throw new Error(`cannot create ${objectType} object: ${issue.message}`);
        const holder = this.holderOf(objectType, name, value);
        if (value !== '' && holder !== undefined) {
          throw new Error(
            `cannot create ${objectType} object: ${name}=${value} is already used by ${holder}`,
          );
        }
      }
      const id = input.id ?? this.nextFreeId(table);
      if (table.objects.has(id)) throw new Error(`cannot create ${objectType} object: id ${id} exists`);
      const stored: StoredObject = {
        id,
        properties: new Map(),
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
        version: 0,
        aliases: new Map(),
      };
      table.objects.set(id, stored);
      this.setProperties(table, stored, input.properties);
      return snapshot(stored);
    });
  }

  /** Writes properties to an existing object and bumps its `updatedAt` (strictly, so writes are ordered). */
  apply(objectType: string, id: string, properties: Record<string, string>, nowMs = Date.now()): SimObject {
    const table = this.table(objectType);
    const o = table.objects.get(id);
    if (!o) throw new Error(`no ${objectType} object ${id}`);
    this.setProperties(table, o, properties);
    o.updatedAtMs = Math.max(nowMs, o.updatedAtMs + 1);
    o.version += 1;
    return snapshot(o);
  }

  /** Seeds `count` objects per type with ids 1001.. and, where the type has one, a unique natural key. */
  seed(counts: Record<string, number>, nowMs = Date.now()): void {
    for (const [objectType, count] of Object.entries(counts)) {
      const name = this.schemas.canonical(objectType);
      const inputs = Array.from({ length: count }, (_, i) => ({
        id: String(FIRST_ID + i),
        properties: seedProperties(name, i + 1),
      }));
      this.create(name, inputs, nowMs);
    }
  }

  private nextFreeId(table: TypeTable): string {
    while (table.objects.has(String(table.nextId))) table.nextId += 1;
    const id = String(table.nextId);
    table.nextId += 1;
    return id;
  }

  private setProperties(table: TypeTable, o: StoredObject, properties: Record<string, string>): void {
    for (const [name, value] of Object.entries(properties)) {
      const index = table.unique.get(name);
      if (index) {
        // The lookup moves with the value: the old one stops naming this object (unless it is also an alias
        // of it), the new one names it from now on.
        const previous = o.properties.get(name);
        const aliases = o.aliases.get(name);
        const isAlias = (v: string) =>
          [...(aliases ?? [])].some((a) => indexKey(table, name, a) === indexKey(table, name, v));
        if (previous !== undefined && !isAlias(previous)) {
          const key = indexKey(table, name, previous);
          if (index.get(key) === o.id) index.delete(key);
        }
        if (value !== '') index.set(indexKey(table, name, value), o.id);
      }
      o.properties.set(name, value);
    }
  }
}

function seedProperties(objectType: string, n: number): Record<string, string> {
  switch (objectType) {
    case 'contacts':
      return { email: `contact${n}@example.com` };
    case 'companies':
      return { domain: `company${n}.example.com`, name: `Company ${n}` };
    case 'deals':
      return { dealname: `Deal ${n}` };
    case 'tickets':
      return { subject: `Ticket ${n}` };
    default:
      return {};
  }
}

import type { Logger } from 'pino';
import type { HubSpotPort, PropertyDefinition } from '../hubspot/port.js';
import { parsePropertyDefinitions, validateProperties } from '../hubspot/properties.js';
import { groupOf } from '../keys.js';
import { BudgetPausedError } from '../ratelimit/wait.js';
import type { PropertyValidator } from './prepare.js';

export interface SchemaCacheOptions {
  port: HubSpotPort;
  /**
   * Called before each schema fetch: the fetch is a HubSpot call and spends rate budget like any other. A
   * `BudgetPausedError` (the account is paused for longer than a batch may wait) is passed on to the caller
   * and not cached: the schema is asked for again once the pause is over.
   */
  beforeFetch: (account: string, signal: AbortSignal) => Promise<void>;
  ttlMs: number;
  /** How long a schema that could not be read is taken as missing before it is asked for again. Default 30 s. */
  missingTtlMs?: number;
  /** Aborted when the worker closes: a refresh in the background then gives up. */
  signal?: AbortSignal;
  logger?: Logger;
}

/** One cached lookup: its result once known, so a failed one can be kept for a shorter time. */
interface Entry {
  at: number;
  value: Promise<PropertyValidator | undefined>;
  found?: boolean;
  /** True while a newer copy is fetched in the background (stale-while-revalidate). */
  refreshing?: boolean;
}

/**
 * Caches HubSpot's property schema per account and object type, so poison values fail before they cost a
 * whole-batch 400. When the schema cannot be read (missing scope, unknown type, outage) the worker sends
 * unvalidated and relies on isolating 400s instead. Stale-while-revalidate: only the first fetch of a type is
 * waited for; once a schema was read, an expired (or invalidated) one keeps serving while a newer copy is fetched
 * in the background, so a batch never waits for a refetch (and its grant) in front of its own call.
 */
export class SchemaCache {
  readonly #options: SchemaCacheOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: SchemaCacheOptions) {
    this.#options = options;
  }

  /**
   * The validator of the object type, `undefined` when its schema cannot be read.
   * @throws BudgetPausedError when the account is paused for longer than the fetch may wait.
   */
  validatorFor(
    account: string,
    objectType: string,
    signal: AbortSignal,
  ): Promise<PropertyValidator | undefined> {
    const key = groupOf(account, objectType);
    const hit = this.#entries.get(key);
    const ttl = hit?.found === false ? (this.#options.missingTtlMs ?? 30_000) : this.#options.ttlMs;
    if (hit && Date.now() - hit.at < ttl) return hit.value;
    if (hit?.found === true) {
      this.#refresh(key, hit, account, objectType);
      return hit.value;
    }
    // One fetch serves every batch waiting for it, so it is not tied to the first one's abort: that batch may
    // lose its lease or stop, the others still need the schema. It still gives up if the first caller's signal
    // aborts before the fetch is under way (budget wait), which the cache then forgets.
    const value = this.#load(account, objectType, signal);
    const entry: Entry = { at: Date.now(), value };
    this.#entries.set(key, entry);
    value.then(
      (validator) => {
        entry.found = validator !== undefined;
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return value;
  }

  /**
   * Marks a schema stale, e.g. after HubSpot rejected a property the cached schema allowed: the next batch of the
   * type fetches it again in the background (an unread one is forgotten).
   */
  invalidate(account: string, objectType: string): void {
    const key = groupOf(account, objectType);
    const hit = this.#entries.get(key);
    if (hit?.found === true) hit.at = Number.NEGATIVE_INFINITY;
    else this.#entries.delete(key);
  }

  /** Fetches a newer copy of a schema that was read, keeping the old one in service until it comes. */
  #refresh(key: string, entry: Entry, account: string, objectType: string): void {
    if (entry.refreshing) return;
    entry.refreshing = true;
    const signal = this.#options.signal ?? new AbortController().signal;
    this.#load(account, objectType, signal).then(
      (validator) => {
        entry.refreshing = false;
        if (this.#entries.get(key) !== entry) return;
        if (validator)
          this.#entries.set(key, { at: Date.now(), value: Promise.resolve(validator), found: true });
        // Unreadable now: the old copy stays, and is asked for again once a missing schema would be.
        else entry.at = Date.now() - this.#options.ttlMs + (this.#options.missingTtlMs ?? 30_000);
      },
      () => {
        // A long pause or the worker closing: asked for again by the next batch.
        entry.refreshing = false;
      },
    );
  }

  async #load(
    account: string,
    objectType: string,
    signal: AbortSignal,
  ): Promise<PropertyValidator | undefined> {
    try {
      await this.#options.beforeFetch(account, signal);
      const answer = await this.#options.port.getProperties(account, objectType);
      if (answer.kind !== 'http' || answer.status !== 200) {
        this.#options.logger?.warn(
          { account, objectType, status: answer.kind === 'http' ? answer.status : answer.code },
          'property schema unavailable; sending without local validation',
        );
        return undefined;
      }
      const defs = new Map<string, PropertyDefinition>(
        parsePropertyDefinitions(answer.body).map((d) => [d.name, d]),
      );
      if (defs.size === 0) return undefined;
      return (properties) => validateProperties(defs, properties);
    } catch (err) {
      if (err instanceof BudgetPausedError || signal.aborted) throw err;
      this.#options.logger?.warn({ account, objectType, err }, 'property schema fetch failed');
      return undefined;
    }
  }
}

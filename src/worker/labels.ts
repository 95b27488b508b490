/** The `account` label of every account the worker has no credentials for. */
export const UNCONFIGURED_ACCOUNT = 'unconfigured';
/** The `object_type` label once the per-process budget of object types is spent. */
export const OTHER_OBJECT_TYPE = 'other';
/** Distinct `object_type` label values one process emits at most (besides `other`). */
export const MAX_OBJECT_TYPE_LABELS = 50;

/**
 * Bounds the label values the worker puts on metrics. Accounts and object types come from producers' input, and
 * every distinct value is a new series Prometheus keeps: 300 mistyped account names would be 300 series per
 * metric. Only configured accounts appear as themselves; object types are admitted first come, first served, up
 * to a fixed number, and only for configured accounts (an unconfigured account's updates all fail alike).
 */
export class MetricLabels {
  readonly #accounts: ReadonlySet<string>;
  readonly #objectTypes = new Set<string>();
  readonly #maxObjectTypes: number;

  constructor(configuredAccounts: Iterable<string>, maxObjectTypes = MAX_OBJECT_TYPE_LABELS) {
    this.#accounts = new Set(configuredAccounts);
    this.#maxObjectTypes = maxObjectTypes;
  }

  /** The accounts gauges are kept for: the configured ones, never every account seen in input. */
  get configuredAccounts(): string[] {
    return [...this.#accounts];
  }

  account(account: string): string {
    return this.#accounts.has(account) ? account : UNCONFIGURED_ACCOUNT;
  }

  objectType(account: string, objectType: string): string {
    if (this.#objectTypes.has(objectType)) return objectType;
    if (!this.#accounts.has(account) || this.#objectTypes.size >= this.#maxObjectTypes)
      return OTHER_OBJECT_TYPE;
    this.#objectTypes.add(objectType);
    return objectType;
  }

  /** `{ account, object_type }` for metrics of one group. */
  of(account: string, objectType: string): { account: string; object_type: string } {
    return { account: this.account(account), object_type: this.objectType(account, objectType) };
  }
}

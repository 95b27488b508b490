import type { SimClock } from './clock.js';
import type { AuthFailure } from './errors.js';
import type { LatencyModel } from './latency.js';
import { type ResolvedOptions, rateLimitOf } from './options.js';
import { PortalBudget } from './rate-limit.js';
import type { SchemaRegistry } from './schema.js';
import { ObjectStore } from './store.js';

/** One HubSpot account as seen by one app: its objects, its rate budget and how fast it answers. */
export interface Portal {
  id: string;
  budget: PortalBudget;
  store: ObjectStore;
  latency: LatencyModel;
}

/** What a bearer token is worth right now. */
export type AuthResult =
  | { ok: true; portal: Portal }
  | { ok: false; status: 401; failure: AuthFailure; portal?: Portal }
  | { ok: false; status: 403; scopes: string[]; portal: Portal };

/** Maps bearer tokens to portals, creating portals on first use, and holds the credential faults. */
export class PortalRegistry {
  private readonly portals = new Map<string, Portal>();
  private readonly revoked = new Map<string, AuthFailure>();
  private readonly missingScopes = new Map<string, string[]>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly schemas: SchemaRegistry,
    private readonly clock: SimClock,
  ) {}

  /** The portal a token stands for, without creating one for an unknown token. */
  peek(token: string | undefined): Portal | undefined {
    if (token === undefined) return undefined;
    const id = this.options.portals[token]?.portalId ?? token;
    return this.portals.get(id);
  }

  /** Checks a token and resolves its portal (creating it for a new token when any token is accepted). */
  authenticate(token: string | undefined): AuthResult {
    if (token === undefined || token === '')
      return { ok: false, status: 401, failure: 'INVALID_AUTHENTICATION' };
    const revoked = this.revoked.get(token);
    if (revoked) {
      const portal = this.peek(token);
      return { ok: false, status: 401, failure: revoked, ...(portal ? { portal } : {}) };
    }
    const configured = this.options.portals[token];
    if (!configured && !this.options.acceptAnyToken) {
      return { ok: false, status: 401, failure: 'INVALID_AUTHENTICATION' };
    }
    const portal = this.get(configured?.portalId ?? token);
    const scopes = this.missingScopes.get(token);
    if (scopes) return { ok: false, status: 403, scopes, portal };
    return { ok: true, portal };
  }

  /** The portal with this id, created (and seeded) on first use. */
  get(portalId: string): Portal {
    let portal = this.portals.get(portalId);
    if (!portal) {
      const configured = Object.values(this.options.portals).find((p) => p.portalId === portalId);
      const budget = new PortalBudget(
        configured ? rateLimitOf(configured) : this.options.defaultRateLimit,
        () => this.clock.now(),
      );
      const store = new ObjectStore(this.schemas);
      store.seed(this.options.seedObjects, this.clock.now());
      const latency = this.options.portalLatency[portalId] ?? this.options.latency;
      portal = { id: portalId, budget, store, latency };
      this.portals.set(portalId, portal);
    }
    return portal;
  }

  /** Every portal created so far. */
  all(): Portal[] {
    return [...this.portals.values()];
  }

  revoke(token: string, failure: AuthFailure): void {
    this.revoked.set(token, failure);
  }

  restore(token: string): void {
    this.revoked.delete(token);
  }

  setMissingScopes(token: string, scopes: string[] | null): void {
    if (scopes === null) this.missingScopes.delete(token);
    else this.missingScopes.set(token, [...scopes]);
  }

  /** Drops every portal (they come back re-seeded on next use) and every credential fault. */
  reset(): void {
    this.portals.clear();
    this.revoked.clear();
    this.missingScopes.clear();
  }
}

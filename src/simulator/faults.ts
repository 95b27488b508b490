import type { Random } from './prng.js';
import { FaultKind } from './types.js';

/**
 * Probabilities (0..1, per batch-update call) of each fault, plus their parameters. A call suffers at most one
 * fault; the probabilities are stacked in the order below, so their sum should stay <= 1.
 */
export interface FaultOptions {
  /** 500, 502 or 503 with a gateway's HTML page; nothing applied. */
  error5xx: number;
  /** 200 with status CANCELED and no results; nothing applied. */
  canceled: number;
  /** The write applies fully, then the answer is a 504 HTML page. */
  ambiguous504: number;
  /** The socket is destroyed without an answer; nothing applied. */
  reset: number;
  /** The write applies fully, then the socket is destroyed. */
  resetAfterApply: number;
  /** 423 Locked with a JSON body; nothing applied. */
  locked423: number;
  /** 477 Migration in Progress with `Retry-After: migrationRetryAfterS`; nothing applied. */
  migration477: number;
  /**
   * The write applies at once, then the answer stalls `hangMs` (clients with shorter timeouts give up and face
   * an ambiguous outcome).
   */
  hang: number;
  hangMs: number;
  /**
   * The write is held and applies `lateApplyMs` after arrival, then answered: HubSpot applying a call after its
   * client gave up, so the write can land after a newer one the client sent meanwhile.
   */
  lateApply: number;
  lateApplyMs: number;
  migrationRetryAfterS: number;
}

/** No faults at all. */
export function noFaults(): FaultOptions {
  return {
    error5xx: 0,
    canceled: 0,
    ambiguous504: 0,
    reset: 0,
    resetAfterApply: 0,
    locked423: 0,
    migration477: 0,
    hang: 0,
    hangMs: 30_000,
    lateApply: 0,
    lateApplyMs: 3000,
    migrationRetryAfterS: 1,
  };
}

/** Parameters of a scripted fault. */
export interface FailNextOptions {
  /** For `status` (default 500) and `error5xx` (default drawn from 500/502/503): the status to answer. */
  status?: number;
  /** For `status`: the body; a string is sent as text/html, anything else as JSON. Default: HubSpot-like error. */
  body?: unknown;
  /** For `status`: extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  /** For `hang` and `lateApply`: how long to stall (default: the `hangMs` / `lateApplyMs` fault option). */
  hangMs?: number;
  /** For `migration477`: the Retry-After seconds (default: the `migrationRetryAfterS` fault option). */
  retryAfterS?: number;
  /** Only calls to this portal consume the fault (default: any portal). */
  portal?: string;
  /** Which calls consume the fault: `update` (batch-update, the default) or `read` (batch-read). */
  call?: FaultedCall;
}

/** The calls faults strike: probabilistic faults strike both, a scripted one those its `call` names. */
export type FaultedCall = 'update' | 'read';

/** The fault chosen for one call, with its parameters settled. */
export interface PlannedFault {
  kind: FaultKind;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  hangMs?: number;
  retryAfterS?: number;
}

const PROBABILISTIC: ReadonlyArray<Exclude<FaultKind, 'status'>> = [
  FaultKind.error5xx,
  FaultKind.canceled,
  FaultKind.ambiguous504,
  FaultKind.reset,
  FaultKind.resetAfterApply,
  FaultKind.locked423,
  FaultKind.migration477,
  FaultKind.hang,
  FaultKind.lateApply,
];

const ERROR_5XX = [500, 502, 503] as const;

interface Scripted {
  kind: FaultKind;
  remaining: number;
  options: FailNextOptions;
}

/** Decides which fault, if any, each batch call suffers: scripted ones first, then by probability. */
export class FaultPlanner {
  private options = noFaults();
  private scripted: Scripted[] = [];

  constructor(private readonly random: Random) {}

  /** Merges new fault options over the current ones. */
  set(faults: Partial<FaultOptions>): void {
    const merged = { ...this.options, ...faults };
    for (const kind of PROBABILISTIC) {
      const p = merged[kind];
      if (!(p >= 0 && p <= 1))
        throw new RangeError(`fault probability ${kind} must be within 0..1, got ${p}`);
    }
    this.options = merged;
  }

  current(): FaultOptions {
    return { ...this.options };
  }

  /** Scripts `count` faults of one kind for the next matching calls (batch-update ones unless `call` says). */
  failNext(count: number, kind: FaultKind, options: FailNextOptions = {}): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer`);
    if (!Object.values(FaultKind).includes(kind)) throw new RangeError(`unknown fault kind ${String(kind)}`);
    if (count > 0) this.scripted.push({ kind, remaining: count, options: { ...options } });
  }

  /** Forgets every option and scripted fault. */
  clear(): void {
    this.options = noFaults();
    this.scripted = [];
  }

  /**
   * The fault for the next call to `portal`, consuming a scripted one if any matches. For a read, the faults
   * that apply the write first mean the same with nothing to apply: the lookup, then the bad answer.
   */
  draw(portal: string, call: FaultedCall = 'update'): PlannedFault | undefined {
    const index = this.scripted.findIndex(
      (s) =>
        (s.options.portal === undefined || s.options.portal === portal) &&
        (s.options.call ?? 'update') === call,
    );
    const scripted = this.scripted[index];
    if (scripted) {
      scripted.remaining -= 1;
      if (scripted.remaining === 0) this.scripted.splice(index, 1);
      return this.settle(scripted.kind, scripted.options);
    }
    const total = PROBABILISTIC.reduce((sum, kind) => sum + this.options[kind], 0);
    if (total === 0) return undefined;
    let r = this.random.next();
    for (const kind of PROBABILISTIC) {
      r -= this.options[kind];
      if (r < 0) return this.settle(kind, {});
    }
    return undefined;
  }

  private settle(kind: FaultKind, options: FailNextOptions): PlannedFault {
    switch (kind) {
      case FaultKind.error5xx:
        return { kind, status: options.status ?? this.random.pick(ERROR_5XX) };
      case FaultKind.status:
        return {
          kind,
          status: options.status ?? 500,
          body: options.body,
          ...(options.headers ? { headers: options.headers } : {}),
        };
      case FaultKind.hang:
        return { kind, hangMs: options.hangMs ?? this.options.hangMs };
      case FaultKind.lateApply:
        return { kind, hangMs: options.hangMs ?? this.options.lateApplyMs };
      case FaultKind.migration477:
        return { kind, retryAfterS: options.retryAfterS ?? this.options.migrationRetryAfterS };
      default:
        return { kind };
    }
  }
}

import type { CallRecord, SimStats } from './types.js';

/** Counters the API handler bumps beyond what a call record already tells. */
export type BatchCounter =
  | 'inputsApplied'
  | 'recordsRead'
  | 'duplicateIdBatches'
  | 'oversizeBatches'
  | 'invalidPropertyBatches';

function increment(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/**
 * The log of API calls and running totals. Totals never drop records, the log keeps the most recent
 * `limit` ones. Sequence numbers are given when a call ends, so polling with `since` never misses a call that
 * was still in flight when the previous poll ran.
 */
export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;
  private totals = CallLog.emptyTotals();

  constructor(private readonly limit: number) {}

  private static emptyTotals(): Omit<SimStats, 'maxCallsInAnyWindow'> {
    return {
      calls: 0,
      byStatus: {},
      rateLimited: {},
      outsideCalls: {},
      byEndpoint: {},
      inputsTotal: 0,
      readInputsTotal: 0,
      recordsRead: 0,
      inputsApplied: 0,
      duplicateIdBatches: 0,
      oversizeBatches: 0,
      invalidPropertyBatches: 0,
      faults: {},
    };
  }

  /** Appends a finished call and returns it with its sequence number. */
  add(call: Omit<CallRecord, 'seq'>): CallRecord {
    this.seq += 1;
    const record: CallRecord = { seq: this.seq, ...call };
    this.records.push(record);
    if (this.records.length > this.limit * 1.25) this.records = this.records.slice(-this.limit);
    const t = this.totals;
    t.calls += 1;
    increment(t.byStatus, String(record.status));
    if (record.policyName) increment(t.rateLimited, record.policyName);
    if (record.fault) increment(t.faults, record.fault);
    increment(t.byEndpoint, record.endpoint ?? 'unknown');
    if (record.endpoint === 'batchRead') t.readInputsTotal += record.inputCount;
    else t.inputsTotal += record.inputCount;
    return record;
  }

  count(counter: BatchCounter, by = 1): void {
    this.totals[counter] += by;
  }

  countOutside(portal: string): void {
    increment(this.totals.outsideCalls, portal);
  }

  /** Records with a sequence number above `since`, oldest first. */
  since(since = 0): CallRecord[] {
    const kept = this.records.length > this.limit ? this.records.slice(-this.limit) : this.records;
    return kept.filter((r) => r.seq > since).map((r) => structuredClone(r));
  }

  /** Totals, completed with the per-portal window maxima the rate budgets keep. */
  stats(maxCallsInAnyWindow: Record<string, number>): SimStats {
    return structuredClone({ ...this.totals, maxCallsInAnyWindow });
  }

  clear(): void {
    // The sequence keeps counting, so a poller holding an old `since` still sees every later call.
    this.records = [];
    this.totals = CallLog.emptyTotals();
  }
}

import type { BatchInput } from '../hubspot/port.js';
import { toHubSpotValue, type Update } from '../update.js';

/** A validated update of one object with its fencing sequence (enqueue order). */
export interface SequencedUpdate {
  seq: number;
  update: Update;
}

/** How the updates of one object combine into at most one batch input. */
export interface ObjectMerge {
  /** The merged input, absent when every update is already fenced off (nothing left to write). */
  input?: BatchInput;
  /** Trace ids whose values are (partly) written by the input, with the properties each one wins. */
  contributors: Map<string, string[]>;
  /** Trace ids fully overridden by newer updates in this same input: superseded once it lands. */
  riders: string[];
  /** Trace ids whose every property was overtaken by a newer value that already landed: superseded now. */
  fenced: string[];
  /**
   * Trace ids that may not be written, nor called superseded yet: a property of theirs is overtaken only by a
   * newer value that may have landed (a tentative fence) and that this input does not write again. With the
   * properties that wait.
   */
  waiting: Array<{ trace: string; properties: string[] }>;
  /** Per property, the sequence of the value the input writes: the fence to record once it lands. */
  sequences: Record<string, number>;
}

/** Prefix of a property's tentative fence in the landed hash (property names never start with it). */
export const SENT_PREFIX = '~';

/**
 * The fence a field of the landed hash holds: a landed sequence, or for a tentative fence (`~prop`, the
 * sequences of every value of the property sent in a call that may have applied and is not settled, comma
 * separated) the newest of them.
 */
export function fenceOf(field: string, raw: string): number {
  if (!field.startsWith(SENT_PREFIX)) return Number(raw);
  return Math.max(
    -1,
    ...raw
      .split(',')
      .filter((s) => s !== '')
      .map(Number),
  );
}

/**
 * Whether the value of `prop` with sequence `seq` may no longer be written: a value as new or newer landed, or a
 * newer one was sent in a call that may have applied (its tentative fence, `~prop`). The value that call sent
 * itself may be sent again (its retry); older ones never, or a late apply of that call could land before them and
 * a retry of theirs after.
 */
export function fencedOff(landed: Readonly<Record<string, number>>, prop: string, seq: number): boolean {
  return (landed[prop] ?? -1) >= seq || (landed[SENT_PREFIX + prop] ?? -1) > seq;
}

/** Whether a value as new as `seq`, or newer, is known to have landed for `prop` (the confirmed fence). */
export function landedOver(landed: Readonly<Record<string, number>>, prop: string, seq: number): boolean {
  return (landed[prop] ?? -1) >= seq;
}

/**
 * Merges the pending updates of one object property by property, the newest enqueue winning each property,
 * and drops every value older than the one that already landed in HubSpot (`landed`, per property). HubSpot
 * rejects a batch naming the same object twice, so an object contributes at most one input.
 */
export function mergeObjectUpdates(
  updates: readonly SequencedUpdate[],
  landed: Record<string, number>,
): ObjectMerge {
  const sorted = [...updates].sort((a, b) => a.seq - b.seq);
  const winner = new Map<string, SequencedUpdate>();
  for (const u of sorted) {
    for (const prop of Object.keys(u.update.properties)) {
      if (fencedOff(landed, prop, u.seq)) continue;
      winner.set(prop, u);
    }
  }

  const contributors = new Map<string, string[]>();
  const properties: Record<string, string> = {};
  const sequences: Record<string, number> = {};
  for (const [prop, u] of winner) {
    properties[prop] = toHubSpotValue(u.update.properties[prop] ?? null);
    sequences[prop] = u.seq;
    const list = contributors.get(u.update.objectWriteTraceId) ?? [];
    list.push(prop);
    contributors.set(u.update.objectWriteTraceId, list);
  }

  // Every property of an update that writes none is overtaken: by a value that landed, by a newer value this
  // input writes (a rider, decided with the input), or only by a tentative fence (it waits: that value may never
  // land, and older values may not be written until it is known).
  const riders: string[] = [];
  const fenced: string[] = [];
  const waiting: ObjectMerge['waiting'] = [];
  for (const u of sorted) {
    const trace = u.update.objectWriteTraceId;
    if (contributors.has(trace)) continue;
    const props = Object.keys(u.update.properties);
    const open = props.filter((p) => !landedOver(landed, p, u.seq) && sequences[p] === undefined);
    if (open.length > 0) waiting.push({ trace, properties: open });
    else if (props.every((p) => landedOver(landed, p, u.seq))) fenced.push(trace);
    else riders.push(trace);
  }

  const latest = sorted.filter((u) => contributors.has(u.update.objectWriteTraceId)).at(-1);
  if (!latest) return { contributors, riders: [], fenced, waiting, sequences };
  const { id, idProperty } = latest.update;
  const input: BatchInput = {
    id,
    ...(idProperty ? { idProperty } : {}),
    properties,
    objectWriteTraceId: latest.update.objectWriteTraceId,
  };
  return { input, contributors, riders, fenced, waiting, sequences };
}

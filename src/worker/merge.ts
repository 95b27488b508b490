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
  /** Per property, the sequence of the value the input writes: the fence to record once it lands. */
  sequences: Record<string, number>;
}

/** Prefix of a property's tentative fence in the landed hash (property names never start with it). */
export const SENT_PREFIX = '~';

/**
 * Whether the value of `prop` with sequence `seq` may no longer be written: a value as new or newer landed, or a
 * newer one was sent in a call that may have applied (its tentative fence, `~prop`). The value that call sent
 * itself may be sent again (its retry); older ones never, or a late apply of that call could land before them and
 * a retry of theirs after.
 */
export function fencedOff(landed: Readonly<Record<string, number>>, prop: string, seq: number): boolean {
  return (landed[prop] ?? -1) >= seq || (landed[SENT_PREFIX + prop] ?? -1) > seq;
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

  const riders: string[] = [];
  const fenced: string[] = [];
  for (const u of sorted) {
    const trace = u.update.objectWriteTraceId;
    if (contributors.has(trace)) continue;
    const allFenced = Object.keys(u.update.properties).every((p) => fencedOff(landed, p, u.seq));
    (allFenced ? fenced : riders).push(trace);
  }

  const latest = sorted.filter((u) => contributors.has(u.update.objectWriteTraceId)).at(-1);
  if (!latest) return { contributors, riders: [], fenced: [...fenced, ...riders], sequences };
  const { id, idProperty } = latest.update;
  const input: BatchInput = {
    id,
    ...(idProperty ? { idProperty } : {}),
    properties,
    objectWriteTraceId: latest.update.objectWriteTraceId,
  };
  return { input, contributors, riders, fenced, sequences };
}

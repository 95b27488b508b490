import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from './pipeline.js';
import { onCleanup, track } from './resources.js';

/** The token `update()` and `contacts()` use unless told otherwise. */
export const TOKEN = 'tok-core';

/** A simulator with the given options (no default seed), closed after the test. */
export async function openSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(options);
  const done = track('simulator');
  onCleanup(async () => {
    await sim.close();
    done();
  });
  return sim;
}

/** Polls a condition every 5 ms (not a fixed sleep); fails after 10 s. */
export function waitUntil(condition: () => boolean, what: string): Promise<void> {
  return waitFor(condition, { timeoutMs: 10_000, intervalMs: 5, what });
}

export interface Input {
  id: string;
  idProperty?: string;
  properties: Record<string, string>;
  objectWriteTraceId?: string;
}

export interface Result {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  objectWriteTraceId?: string;
}

export interface BatchError {
  status: string;
  category: string;
  message: string;
  context: { ids: string[]; objectWriteTraceId?: string[] };
}

/** The body of a batch-update answer, whichever of its shapes the call got. */
export interface Body {
  status: string;
  message: string;
  category: string;
  correlationId: string;
  results: Result[];
  numErrors?: number;
  errors: BatchError[];
  context?: { ids?: string[] };
}

/** POSTs a batch update (inputs, or a raw body given as a string) and reads the JSON answer. */
export async function update(
  sim: Simulator,
  inputs: Input[] | string,
  { objectType = 'contacts', token = TOKEN, version = '2026-03' } = {},
): Promise<{ status: number; body: Body; headers: Headers }> {
  const prefix = version === 'v3' ? '/crm/v3/objects' : `/crm/objects/${version}`;
  const res = await fetch(`${sim.url}${prefix}/${objectType}/batch/update`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof inputs === 'string' ? inputs : JSON.stringify({ inputs }),
  });
  return { status: res.status, body: (await res.json()) as Body, headers: res.headers };
}

/** POSTs a batch read (a request, or a raw body given as a string) and reads the JSON answer. */
export async function read(
  sim: Simulator,
  request: { idProperty?: string; properties?: string[]; ids: string[] } | string,
  { objectType = 'contacts', token = TOKEN, version = '2026-03' } = {},
): Promise<{ status: number; body: Body; headers: Headers }> {
  const prefix = version === 'v3' ? '/crm/v3/objects' : `/crm/objects/${version}`;
  const body =
    typeof request === 'string'
      ? request
      : JSON.stringify({
          ...(request.idProperty === undefined ? {} : { idProperty: request.idProperty }),
          ...(request.properties === undefined ? {} : { properties: request.properties }),
          inputs: request.ids.map((id) => ({ id })),
        });
  const res = await fetch(`${sim.url}${prefix}/${objectType}/batch/read`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, body: (await res.json()) as Body, headers: res.headers };
}

/** Creates contacts `from`…`from + n - 1`, each with email c<id>@example.com, for TOKEN. */
export function contacts(sim: Simulator, n: number, from = 1): void {
  sim.createObjects(
    TOKEN,
    'contacts',
    Array.from({ length: n }, (_, i) => ({
      id: String(from + i),
      properties: { email: `c${from + i}@example.com` },
    })),
  );
}

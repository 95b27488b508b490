import { describe, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import type { Producer } from '../../src/producer/producer.js';
import type { Simulator } from '../../src/simulator/index.js';
import { countResources, settle } from '../helpers/active-resources.js';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker, waitFor } from '../helpers/pipeline.js';
import { onCleanup } from '../helpers/resources.js';

/** A queue with one update waiting, and a producer whose connection is already open. */
async function oneUpdate(sim: Simulator): Promise<{ queue: string; producer: Producer; id: string }> {
  sim.createObjects(TOKEN, 'contacts', [{ id: '1', properties: {} }]);
  const queue = testQueue('close');
  const producer = testProducer(queue);
  const [r] = await producer.enqueueMany([{ objectType: 'contacts', id: '1', properties: { city: 'Oslo' } }]);
  return { queue, producer, id: r?.objectWriteTraceId ?? '' };
}

function succeeded(producer: Producer, id: string): () => Promise<boolean> {
  return async () => (await producer.getOutcome(id))?.status === 'succeeded';
}

// The simulator stays up through each check: closing it would drop the worker's pooled connections from the
// server side and hide a client that was never closed. The simulator's end of a pooled connection is what the
// count sees; it stays open for the server's 5 s keep-alive unless the client closes it.
describe('worker.close()', () => {
  it('closes the HubSpot client it created: no connection to HubSpot outlives the worker', async () => {
    const sim = await testSimulator();
    const { queue, producer, id } = await oneUpdate(sim);
    const before = countResources();
    const worker = await testWorker(queue, sim);
    await waitFor(succeeded(producer, id), { what: 'the update to succeed' });
    await worker.close();
    expect(await settle(before)).toEqual([]);
  });

  it('leaves a client the caller passed in open for the caller to close', async () => {
    const sim = await testSimulator();
    const { queue, producer, id } = await oneUpdate(sim);
    const client = createHubSpotClient({ baseUrl: sim.url, tokenProvider: async () => TOKEN });
    onCleanup(() => client.close());
    const before = countResources();
    const worker = await testWorker(queue, sim, { hubspot: client });
    await waitFor(succeeded(producer, id), { what: 'the update to succeed' });
    await worker.close();
    // The caller's pooled connection is still there: its simulator end counts (the client end idles unref'd in
    // the agent's pool, which the count leaves out)...
    expect(await settle(before, { timeoutMs: 100 })).toEqual([
      {
        type: 'TCPSocketWrap',
        before: before.get('TCPSocketWrap') ?? 0,
        after: (before.get('TCPSocketWrap') ?? 0) + 1,
      },
    ]);
    // ...until the caller closes its client.
    client.close();
    expect(await settle(before)).toEqual([]);
  });
});

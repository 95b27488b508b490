import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import type { Simulator } from '../../src/simulator/index.js';
import { spawnWorker, TOKEN, testProducer, testQueue, testSimulator, waitFor } from '../helpers/pipeline.js';
import { onCleanup, testRedis } from '../helpers/resources.js';

async function callsOut(redis: Redis, queueName: string): Promise<number> {
  const k = queueKeys(queueName);
  let n = 0;
  for (const id of await redis.zrange(k.leases, 0, -1))
    n += Number((await redis.hget(k.batch(id), '#calls')) ?? 0);
  return n;
}

/** True while the simulator serves an API call. */
async function serving(sim: Simulator): Promise<boolean> {
  return Promise.race([
    sim.idle().then(() => false),
    new Promise<boolean>((r) => setImmediate(() => r(true))),
  ]);
}

describe('the hold after a lost lease covers the lost call until its own deadline', () => {
  it('a frozen worker’s call that HubSpot applies before the client’s own deadline never lands over a newer value', async () => {
    const sim = await testSimulator({ latencyMs: 5 });
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    // HubSpot is slow on this call: it applies 8 s after arrival, well inside the client's 20 s deadline.
    sim.failNext(1, 'lateApply', { hangMs: 8000 });
    const queueName = testQueue('reclaim-hold');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const env = {
      QUEUE_NAME: queueName,
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCESS_TOKEN: TOKEN,
      RATE_LIMIT_MAX: '1000',
      BATCH_LINGER_MS: '50',
      VALIDATE_PROPERTIES: 'false',
      LEASE_MS: '2000',
      AMBIGUOUS_HOLD_MS: '2000',
      HTTP_TIMEOUT_MS: '20000',
    };
    const frozen = spawnWorker(env);
    const old = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'old' },
    });
    await waitFor(async () => (await callsOut(redis, queueName)) > 0 && (await serving(sim)), {
      what: 'the call to reach HubSpot',
    });
    // The worker freezes with its call at HubSpot (a stalled host, SIGSTOP).
    frozen.kill('SIGSTOP');
    spawnWorker(env);
    await producer.waitForOutcomes([old.objectWriteTraceId], { timeoutMs: 20_000 });
    const newer = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'new' },
    });
    const [o] = await producer.waitForOutcomes([newer.objectWriteTraceId], { timeoutMs: 45_000 });
    expect(o?.status).toBe('succeeded');
    await sim.idle();
    const final = sim.getObject(TOKEN, 'contacts', '1000')?.properties.firstname;
    console.info(`HubSpot ends with firstname=${final}; the newer update was reported ${o?.status}`);
    frozen.kill('SIGCONT');
    expect(final, 'the newer value must stay').toBe('new');
  }, 90_000);
});

function ssCount(state: string, port: number): number {
  const out = execFileSync('ss', ['-Htn', 'state', state, 'dport', '=', `:${port}`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

describe('a worker frozen past its lease does not send the batch it lost', () => {
  it('frozen while its request waits for its connection: once thawed, the request does not leave', async () => {
    const sim = await testSimulator({ latencyMs: 5 });
    sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
    const gate = spawn(
      'python3',
      [fileURLToPath(new URL('../helpers/connect-gate.py', import.meta.url)), String(sim.port)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    onCleanup(() => {
      gate.kill('SIGKILL');
    });
    let gateOut = '';
    gate.stdout?.on('data', (d: Buffer) => {
      gateOut += d.toString();
    });
    await waitFor(() => /port \d+/.test(gateOut), { what: 'the gate to listen' });
    const gatePort = Number(/port (\d+)/.exec(gateOut)?.[1]);
    const queueName = testQueue('frozen-connect');
    const producer = testProducer(queueName);
    const redis = testRedis();
    const env = {
      QUEUE_NAME: queueName,
      HUBSPOT_ACCESS_TOKEN: TOKEN,
      RATE_LIMIT_MAX: '1000',
      BATCH_LINGER_MS: '50',
      VALIDATE_PROPERTIES: 'false',
      LEASE_MS: '2000',
      AMBIGUOUS_HOLD_MS: '2000',
      HTTP_TIMEOUT_MS: '60000',
    };
    // Worker A reaches HubSpot through a slow connect (a new TLS connection, a SYN lost on the way).
    const frozen = spawnWorker({ ...env, HUBSPOT_BASE_URL: `http://127.0.0.1:${gatePort}` });
    const old = await producer.enqueue({
      objectType: 'contacts',
      id: '1000',
      properties: { firstname: 'old' },
    });
    await waitFor(async () => (await callsOut(redis, queueName)) > 0 && ssCount('syn-sent', gatePort) > 0, {
      what: 'the request created, its connection under way',
    });
    frozen.kill('SIGSTOP');
    spawnWorker({ ...env, HUBSPOT_BASE_URL: sim.url });
    const [first] = await producer.waitForOutcomes([old.objectWriteTraceId], { timeoutMs: 20_000 });
    expect(first?.status).toBe('succeeded');
    const callsBefore = sim.calls().length;
    // The network lets the frozen worker's connection through; then the worker thaws, long before its call's
    // own deadline: only the departure check can stop it now.
    gate.stdin?.write('open\n');
    await waitFor(() => gateOut.includes('accepted'), {
      what: 'the connection to complete',
      timeoutMs: 40_000,
    });
    frozen.kill('SIGCONT');
    await waitFor(() => (frozen as unknown as { output: string }).output.includes('HubSpot call failed'), {
      what: 'the thawed worker to give its call up',
    });
    await sim.idle();
    expect(sim.calls().slice(callsBefore), 'the thawed worker sent the batch it lost').toEqual([]);
  }, 90_000);
});

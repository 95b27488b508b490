// Outcome stream (issue 15): 100,000 outcomes consumed by a consumer group of two `outcomes --follow` processes,
// one SIGKILLed midway and restarted under its name. Counted from what the consumers printed: every outcome
// delivered (none lost), and the only ones printed twice are those the killed consumer had been given and not
// acknowledged (read from the group's pending list right after the kill).
// Knobs: OS_BENCH_UPDATES (default 100000).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { queueKeys } from '../dist/index.js';
import { parseOutcomeEntry } from '../dist/outcomes/stream.js';
import { startWorkerProcess } from './queue-cost/drain.mjs';
import { int, verdict } from './queue-cost/figures.mjs';
import { startSimulatorProcess } from './queue-cost/sim.mjs';
import {
  deleteQueue,
  enqueueOurs,
  FIRST_OBJECT_ID,
  makeUpdates,
  OBJECT_TYPE,
  openProducer,
  TOKEN,
} from './queue-cost/workloads.mjs';

const N = Number(process.env.OS_BENCH_UPDATES ?? 100_000);
const CLI = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const GROUP = 'bench';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function follower(redisUrl, queueName, consumer) {
  const child = spawn(
    process.execPath,
    [CLI, 'outcomes', '--follow', '--group', GROUP, '--consumer', consumer],
    {
      env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl, QUEUE_NAME: queueName },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const ids = [];
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) ids.push(JSON.parse(line).objectWriteTraceId);
  });
  return { child, ids };
}

async function waitUntil(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function run({ redisUrl, log }) {
  const queueName = `os-bench-${Date.now()}`;
  const keys = queueKeys(queueName);
  const control = new Redis(redisUrl);
  const sim = await startSimulatorProcess(
    {
      latencyMs: 0,
      autoCreate: true,
      callLogLimit: 1000,
      portals: { [TOKEN]: { portalId: TOKEN, maxRequests: 1e9, windowMs: 1000, dailyLimit: null } },
      defaultRateLimit: { maxRequests: 1e9, windowMs: 1000, dailyLimit: null },
    },
    {
      portal: TOKEN,
      objectType: OBJECT_TYPE,
      firstId: FIRST_OBJECT_ID,
      count: N,
      properties: { firstname: 'seed' },
    },
  );
  const followers = [];
  let worker;
  try {
    const c1 = follower(redisUrl, queueName, 'c1');
    let c2 = follower(redisUrl, queueName, 'c2');
    followers.push(c1, c2);
    await waitUntil(
      async () => ((await control.xinfo('GROUPS', keys.outcomeStream).catch(() => [])) ?? []).length === 1,
      20_000,
      'the consumer group',
    );
    worker = await startWorkerProcess({ redisUrl, queueName, simUrl: sim.url });
    const producer = await openProducer(redisUrl, queueName);
    const updates = makeUpdates(N);
    log(`enqueueing ${N} updates`);
    const started = Date.now();
    await enqueueOurs(producer, updates);
    await producer.close();

    await waitUntil(() => c1.ids.length + c2.ids.length >= N / 2, 300_000, 'half the outcomes printed');
    // c2's output stops being read, so its writes block with entries in hand and unacknowledged; then it is killed.
    // What it had written before is still in the pipe and is read to its end.
    c2.child.stdout.pause();
    await sleep(1000);
    const closed = once(c2.child.stdout, 'close');
    c2.child.kill('SIGKILL');
    await once(c2.child, 'exit');
    c2.child.stdout.resume();
    await closed;
    const pending = await control.xpending(keys.outcomeStream, GROUP, '-', '+', 100_000, 'c2');
    const unacked = new Set();
    for (const [entryId] of pending) {
      const [entry] = await control.xrange(keys.outcomeStream, entryId, entryId);
      for (const o of parseOutcomeEntry(entry ?? ['', []]).outcomes) unacked.add(o.objectWriteTraceId);
    }
    const killedPrinted = c2.ids;
    log(
      `c2 killed after printing ${killedPrinted.length}; ${pending.length} entries (${unacked.size} outcomes) pending`,
    );
    c2 = follower(redisUrl, queueName, 'c2');
    followers.push(c2);

    const printed = () => [...c1.ids, ...killedPrinted, ...c2.ids];
    await waitUntil(() => new Set(printed()).size >= N, 300_000, 'every outcome printed');
    await waitUntil(
      async () => (await control.xpending(keys.outcomeStream, GROUP))[0] === 0,
      30_000,
      'the group to acknowledge everything',
    );
    const seconds = (Date.now() - started) / 1000;
    const all = printed();
    const enqueued = new Set(updates.map((u) => u.objectWriteTraceId));
    const distinct = new Set(all);
    const lost = [...enqueued].filter((id) => !distinct.has(id)).length;
    const seen = new Set();
    let twice = 0;
    let twiceAcked = 0;
    for (const id of all) {
      if (seen.has(id)) {
        twice++;
        if (!unacked.has(id)) twiceAcked++;
      }
      seen.add(id);
    }
    return [
      '## Outcome stream: a consumer group with a SIGKILLed consumer',
      '',
      `${int(N)} updates drained by one worker (zero-latency simulator); their outcomes consumed by a group of two`,
      '`outcomes --follow` processes (NDJSON on stdout); one SIGKILLed once half were printed, while its output was',
      'not read (so it held entries it could not finish), and restarted under its name. Counted from what the',
      'consumers printed.',
      '',
      '| figure | value |',
      '|---|---:|',
      `| outcomes delivered (distinct) | ${int(distinct.size)} of ${int(N)} |`,
      `| lost | ${int(lost)} ${verdict(lost === 0)} |`,
      `| printed by c1 / by c2 before the kill / by c2 after | ${int(c1.ids.length)} / ${int(killedPrinted.length)} / ${int(c2.ids.length)} |`,
      `| pending (unacknowledged) at the kill | ${int(pending.length)} entries, ${int(unacked.size)} outcomes |`,
      `| printed twice | ${int(twice)} |`,
      `| printed twice after acknowledgement | ${int(twiceAcked)} ${verdict(twiceAcked === 0)} |`,
      `| enqueue to last outcome printed | ${seconds.toFixed(1)} s |`,
    ].join('\n');
  } finally {
    for (const f of followers)
      if (f.child.exitCode === null && f.child.signalCode === null) f.child.kill('SIGTERM');
    await worker?.close();
    await sim.close();
    await deleteQueue(control, true, queueName).catch(() => {});
    control.disconnect();
  }
}

/**
 * The web view on a worker's ops server (built CLI, DASHBOARD_USER/DASHBOARD_PASSWORD set): basic auth over
 * HTTP, then end to end in headless Chromium (Debian package `chromium`, driven by playwright-core): Bull Board
 * lists the queue, and the outcome lookup shows the outcomes of updates the worker sent to the simulator.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/outcomes/outcome.js';
import { spawnWorker, TOKEN, testProducer, testQueue, testSimulator, waitFor } from '../helpers/pipeline.js';
import { onCleanup, track } from '../helpers/resources.js';
import { describeWithPrograms, freePort } from '../helpers/tools.js';

const USER = 'ops';
const PASSWORD = 'pw-7f3c:with colon';
const CHROMIUM = '/usr/bin/chromium';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const auth = { authorization: basic(USER, PASSWORD) };

/** A worker with the dashboard on, after it has sent one update that succeeded and one that failed. */
async function dashboardWorker(): Promise<{
  base: string;
  queue: string;
  succeeded: Outcome;
  failed: Outcome;
  child: ChildProcess & { output?: string };
}> {
  const sim = await testSimulator();
  sim.createObjects(TOKEN, 'contacts', [{ id: '1000', properties: {} }]);
  const queue = testQueue('dash');
  const producer = testProducer(queue);
  const port = await freePort();
  const child = spawnWorker({
    QUEUE_NAME: queue,
    HUBSPOT_ACCESS_TOKEN: TOKEN,
    HUBSPOT_BASE_URL: sim.url,
    METRICS_PORT: String(port),
    METRICS_HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    DASHBOARD_USER: USER,
    DASHBOARD_PASSWORD: PASSWORD,
  }) as ChildProcess & { output?: string };
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true, {
    what: 'worker ready',
    intervalMs: 50,
  });
  const results = await producer.enqueueMany([
    { objectType: 'contacts', id: '1000', properties: { firstname: 'Ada' } },
    { objectType: 'contacts', id: '424242', properties: { firstname: 'Nobody' } },
  ]);
  const [succeeded, failed] = await producer.waitForOutcomes(
    results.map((r) => r.objectWriteTraceId),
    { timeoutMs: 30_000 },
  );
  if (!succeeded || !failed) throw new Error('missing outcomes');
  expect(succeeded.status).toBe('succeeded');
  expect(failed).toMatchObject({ status: 'failed', error: { category: 'OBJECT_NOT_FOUND' } });
  return { base, queue, succeeded, failed, child };
}

describe('dashboard over HTTP', () => {
  it('asks for basic credentials, serves the outcome API, and is read-only', async () => {
    const { base, succeeded, child } = await dashboardWorker();
    const id = succeeded.objectWriteTraceId;

    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: basic(USER, 'wrong') },
      { authorization: basic('x', PASSWORD) },
      { authorization: 'Bearer abc' },
    ];
    for (const headers of wrong) {
      for (const path of ['/dashboard/', '/dashboard/outcomes', `/dashboard/api/outcomes?id=${id}`]) {
        const res = await fetch(`${base}${path}`, { headers });
        expect(res.status, path).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
        expect(await res.text()).not.toContain(id);
      }
    }
    // Metrics and probes stay open for Prometheus and orchestrators.
    expect((await fetch(`${base}/metrics`)).status).toBe(200);

    const ok = await fetch(`${base}/dashboard/api/outcomes?id=${id}`, { headers: auth });
    expect(ok.status).toBe(200);
    // The outcome, and its story as `explain` tells it: the call that carried it, with HubSpot's correlation id.
    expect(await ok.json()).toEqual({
      outcome: succeeded,
      story: expect.objectContaining({
        seen: true,
        outcome: succeeded,
        batches: [
          expect.objectContaining({
            recorded: true,
            calls: [
              expect.objectContaining({
                status: 207,
                correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
              }),
            ],
          }),
        ],
      }),
    });
    const unknown = await fetch(`${base}/dashboard/api/outcomes?id=never-enqueued`, { headers: auth });
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${base}/dashboard/api/outcomes?id=${encodeURIComponent('a:b')}`, {
      headers: auth,
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/trace id/);

    const post = await fetch(`${base}/dashboard/api/queues/pause`, { method: 'PUT', headers: auth });
    expect(post.status).toBe(405);
    const redirect = await fetch(`${base}/dashboard`, { headers: auth, redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/dashboard/');

    expect(child.output).toMatch(/dashboard on \/dashboard\//);
    expect(child.output).not.toContain(PASSWORD);
  });
});

describeWithPrograms('dashboard in headless Chromium', { chromium: 'apt-get install chromium' }, () => {
  async function browser(credentials: boolean): Promise<BrowserContext> {
    const profile = mkdtempSync(join(tmpdir(), 'hbq-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      ...(credentials ? { httpCredentials: { username: USER, password: PASSWORD } } : {}),
      timeout: 60_000,
    });
    const done = track('chromium');
    onCleanup(async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      done();
    });
    // The page asks for web fonts from the internet; the test machine talks to 127.0.0.1 only.
    await context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => route.abort(),
    );
    return context;
  }

  it('Bull Board lists the queue and the lookup shows outcomes; no credentials, no page', async () => {
    const { base, queue, succeeded, failed } = await dashboardWorker();

    // Without credentials Chromium gets the 401 challenge and, having nothing to answer it with, gives up.
    const anonymous = await browser(false);
    const stranger = await anonymous.newPage();
    const statuses: number[] = [];
    stranger.on('response', (res) => statuses.push(res.status()));
    await expect(stranger.goto(`${base}/dashboard/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    expect(statuses).toEqual([401]);

    const context = await browser(true);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));

    const board = await page.goto(`${base}/dashboard/`);
    expect(board?.status()).toBe(200);
    await expect(page.title()).resolves.toBe('hubspot-batch-queue');
    // The React app fetched /dashboard/api/queues (with the credentials) and rendered the queue's card.
    await page.getByText(queue, { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 });
    // Its page describes what BullMQ's view of the queue holds (the wait list only).
    await page.getByText(queue, { exact: true }).first().click();
    await page.getByText('Updates not yet taken in by a worker').first().waitFor({ timeout: 10_000 });

    await page.goto(`${base}/dashboard/outcomes`);
    await page.getByLabel('Trace id').fill(succeeded.objectWriteTraceId);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('#status', { hasText: 'succeeded' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#fields').textContent()).toContain('1000');
    // The update's story: enqueued, ingested, its batch, the call with HubSpot's correlation id, the outcome.
    const story = (await page.locator('#story').textContent()) ?? '';
    expect(story).toMatch(
      /enqueued.*ingested.*batch .*call: HTTP 207, correlation id [0-9a-f-]{36}, attempt 1.*outcome: succeeded/s,
    );
    expect(page.url()).toContain(`?id=${succeeded.objectWriteTraceId}`);
    // The address names the lookup: reloading it (or sharing it) shows the same outcome.
    await page.reload();
    await page.locator('#status', { hasText: 'succeeded' }).waitFor({ timeout: 10_000 });

    await page.getByLabel('Trace id').fill(failed.objectWriteTraceId);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('#status', { hasText: 'failed' }).waitFor({ timeout: 10_000 });
    const details = await page.locator('#fields').textContent();
    expect(details).toContain('OBJECT_NOT_FOUND');
    expect(details).toContain('424242');

    await page.getByLabel('Trace id').fill('never-enqueued');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('#message', { hasText: 'no update with this trace id' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#result').isHidden()).toBe(true);

    expect(errors).toEqual([]);
  });
});

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { countResources, grownSince, growth, settle } from '../helpers/active-resources.js';

// The shared leak check is only worth having if it can fail: each case opens a real resource, checks that the
// guard names it while it is open, then closes it and checks that the guard settles back to nothing.
describe('leak guard', () => {
  it('names a listening server until it is closed', async () => {
    const before = countResources();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const open = await settle(before, { timeoutMs: 50 });
    expect(open.map((g) => g.type)).toEqual(['TCPServerWrap']);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await settle(before)).toEqual([]);
  });

  it('names a connected socket until both ends are destroyed', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const before = countResources();
    const accepted = once(server, 'connection');
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    const [serverSide] = (await accepted) as [import('node:net').Socket];
    const open = await settle(before, { timeoutMs: 50 });
    // The connect request (ConnectWrap) is freed a moment after 'connect'; on a loaded host it may still show.
    expect(open.filter((g) => g.type !== 'ConnectWrap')).toEqual([
      { type: 'TCPSocketWrap', before: 0, after: 2 },
    ]);
    client.destroy();
    serverSide.destroy();
    expect(await settle(before)).toEqual([]);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('names a pending timer until it is cleared, and ignores unref’d ones', async () => {
    const before = countResources();
    const unrefd = setTimeout(() => {}, 60_000).unref();
    const timer = setTimeout(() => {}, 60_000);
    const open = await settle(before, { timeoutMs: 50 });
    expect(open).toEqual([
      { type: 'Timeout', before: before.get('Timeout') ?? 0, after: (before.get('Timeout') ?? 0) + 1 },
    ]);
    clearTimeout(timer);
    clearTimeout(unrefd);
    expect(await settle(before)).toEqual([]);
  });

  it('names a timer created since a point even when an older one fired and kept the total level', async () => {
    const older = setTimeout(() => {}, 60_000);
    const before = countResources();
    const since = Date.now();
    clearTimeout(older);
    const timer = setTimeout(() => {}, 60_000);
    expect(growth(before, countResources())).toEqual([]);
    const was = before.get('Timeout') ?? 0;
    expect(grownSince(before, since)).toEqual([{ type: 'Timeout', before: was, after: was + 1 }]);
    clearTimeout(timer);
    expect(await settle(before, { timersSince: since })).toEqual([]);
  });

  it('names a child process until it has exited', async () => {
    const before = countResources();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    const open = await settle(before, { timeoutMs: 50 });
    expect(open.map((g) => g.type)).toEqual(['ProcessWrap']);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    expect(await settle(before)).toEqual([]);
  });

  it('reports only the types that grew', () => {
    const before = new Map([
      ['Timeout', 2],
      ['TCPSocketWrap', 3],
    ]);
    const after = new Map([
      ['Timeout', 1],
      ['TCPSocketWrap', 4],
      ['FSReqCallback', 1],
    ]);
    expect(growth(before, after)).toEqual([
      { type: 'FSReqCallback', before: 0, after: 1 },
      { type: 'TCPSocketWrap', before: 3, after: 4 },
    ]);
  });
});

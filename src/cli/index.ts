#!/usr/bin/env node
import { main } from '../main.js';

/**
 * Every command closes what it opened before it resolves; should anything still hold the event loop open (a
 * connection a failing library left behind), the process exits anyway rather than stay alive doing nothing.
 */
const EXIT_GRACE_MS = 5000;

function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

main(process.argv.slice(2)).then(finish, (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  finish(1);
});

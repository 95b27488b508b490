#!/usr/bin/env node
import { runCommand } from './cli/dispatch.js';
import { loadConfig } from './config.js';
import { runWorker } from './main.js';

/**
 * The `hubspot-batch-queue` binary: the only module that reads `process.argv` and `process.env`. It hands the
 * command table the configuration (read once, when the command asks for it) and the worker's process wiring.
 */

/**
 * Every command closes what it opened before it resolves; should anything still hold the event loop open (a
 * connection a failing library left behind), the process exits anyway rather than stay alive doing nothing.
 */
const EXIT_GRACE_MS = 5000;

function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

const env = { ...process.env };
runCommand(process.argv.slice(2), { config: () => loadConfig(env), runWorker }).then(
  finish,
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    finish(1);
  },
);

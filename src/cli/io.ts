import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** Reads lines from a file path, or stdin for `-` or no argument. */
export async function* readLines(source: string | undefined): AsyncGenerator<string> {
  const input = !source || source === '-' ? process.stdin : createReadStream(source, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) yield line;
}

/** Writes to a stream and waits when it is full, so large outputs do not pile up in memory. */
export async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
}

/** A progress line on stderr, only when stderr is a terminal. */
export function progress(label: string, total: number): { tick(done: number): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    tick(done) {
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      process.stderr.write(`\r${label} ${done}/${total} (${Math.floor((done / Math.max(1, total)) * 100)}%)`);
    },
    end() {
      if (tty) process.stderr.write(`\r${label} ${total}/${total} (100%)\n`);
    },
  };
}

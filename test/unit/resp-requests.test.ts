/**
 * The fault proxy's request scanner: a blip lets exactly one request through, so where each request ends must be
 * found however the stream is cut into chunks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestEnds } from '../helpers/resp-requests.js';

const encode = (args: string[]) =>
  Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);

describe('RequestEnds', () => {
  it('finds the end of every request, whatever the chunks (property)', () => {
    const request = fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (requests, cuts) => {
          const encoded = requests.map(encode);
          const stream = Buffer.concat(encoded);
          const expected: number[] = [];
          let total = 0;
          for (const e of encoded) {
            total += e.length;
            expected.push(total);
          }
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const scanner = new RequestEnds();
          const found: number[] = [];
          let from = 0;
          for (const to of [...points, stream.length]) {
            for (const end of scanner.feed(stream.subarray(from, to))) found.push(from + end);
            from = to;
          }
          expect(found).toEqual(expected);
        },
      ),
    );
  });

  it('an inline command ends at its line; a null bulk string counts as an argument', () => {
    const scanner = new RequestEnds();
    const stream = Buffer.from('PING\r\n*2\r\n$3\r\nGET\r\n$-1\r\n*0\r\n');
    expect(scanner.feed(stream)).toEqual([6, 24, 28]);
  });
});

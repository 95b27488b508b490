/**
 * Where requests end in a client's byte stream to Redis, so the fault proxy can let exactly one request through
 * whole (a large one spans many socket reads) and nothing after it. Requests are RESP arrays of bulk strings, as
 * every client library sends them, or inline commands (one line).
 */
export class RequestEnds {
  /** Bytes of the current header line seen so far (`*n` or `$len`, or an inline command). */
  #line: number[] = [];
  /** Bulk strings still expected in the current request; 0 between requests. */
  #args = 0;
  /** Bytes (data and its CRLF) left of the current bulk string; 0 while reading a header line. */
  #bulk = 0;

  /** Feeds the next chunk of the stream; returns the offsets in it just past each request that ends in it. */
  feed(chunk: Buffer): number[] {
    const ends: number[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.#bulk > 0) {
        const take = Math.min(this.#bulk, chunk.length - i);
        this.#bulk -= take;
        i += take;
        if (this.#bulk === 0 && --this.#args === 0) ends.push(i);
        continue;
      }
      const byte = chunk[i++] as number;
      this.#line.push(byte);
      if (byte !== 0x0a) continue;
      const line = Buffer.from(this.#line)
        .toString('latin1')
        .replace(/\r?\n$/, '');
      this.#line = [];
      if (this.#args === 0) {
        if (line.startsWith('*')) {
          this.#args = Number(line.slice(1));
          if (!(this.#args > 0)) {
            this.#args = 0;
            ends.push(i);
          }
        } else if (line !== '') {
          ends.push(i);
        }
      } else if (line.startsWith('$')) {
        const length = Number(line.slice(1));
        if (length < 0) {
          if (--this.#args === 0) ends.push(i);
        } else {
          this.#bulk = length + 2;
        }
      }
    }
    return ends;
  }
}

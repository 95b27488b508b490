import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

/** What axios needs of a `transport`: Node's own `request`, here with the moment the request left reported. */
export interface Transport {
  request(options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest;
}

/**
 * Node's http/https `request`, reporting when the request was handed to the OS: when a pooled socket takes it
 * (the body is flushed right then), or when a new connection is up. An event loop held up by a cold start or a
 * loaded machine, or a slow connect, can delay that well past the rate-limit grant. ('finish' would be later
 * still: it waits for the write callback, one more turn of a busy loop.)
 *
 * With `mustLeaveBy`, the deadline is checked in the same turn of the event loop as the write: for a pooled
 * socket when the request is created (a request past it is created already aborted, so not a byte of it leaves;
 * at 'socket' the body is written already), for a new connection once it is up, before it is flushed.
 */
export function reportingTransport(
  onSent: ((at: number) => void) | undefined,
  mustLeaveBy: number | undefined,
  departure: { late: boolean },
): Transport {
  const report = () => {
    try {
      onSent?.(Date.now());
    } catch {
      // A reporting callback must not break the call.
    }
  };
  return {
    request(options, onResponse) {
      if (mustLeaveBy !== undefined && performance.now() > mustLeaveBy) {
        departure.late = true;
        options = { ...options, signal: AbortSignal.abort() };
      }
      const req = (options.protocol === 'https:' ? https : http).request(options, onResponse);
      if (departure.late) return req;
      req.once('socket', (socket) => {
        if (!socket.connecting) {
          report();
          return;
        }
        // A new connection: the request is written once it is up, which a slow connect (or a process frozen
        // meanwhile) can put past the deadline. This listener runs before the socket flushes the request.
        socket.once(options.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
          if (mustLeaveBy !== undefined && performance.now() > mustLeaveBy) {
            departure.late = true;
            req.destroy(new Error('past its departure deadline'));
            return;
          }
          report();
        });
      });
      return req;
    },
  };
}

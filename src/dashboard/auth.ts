import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The single account allowed into the dashboard (DASHBOARD_USER / DASHBOARD_PASSWORD). */
export interface DashboardCredentials {
  user: string;
  password: string;
}

const REALM = 'hubspot-batch-queue dashboard';

// Digests make both sides the same length, so timingSafeEqual neither throws nor leaks the secret's length.
const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Builds a check of HTTP basic credentials. User and password are both compared in constant time and both
 * always compared, so the response time tells nothing about which part (or how much of it) was right.
 */
export function basicAuth(expected: DashboardCredentials): (req: IncomingMessage) => boolean {
  const user = digest(expected.user);
  const password = digest(expected.password);
  return (req) => {
    const presented = parseBasic(req.headers.authorization);
    if (!presented) return false;
    const userOk = timingSafeEqual(digest(presented.user), user);
    const passwordOk = timingSafeEqual(digest(presented.password), password);
    return userOk && passwordOk;
  };
}

/** Answers 401 with a challenge, so browsers ask for credentials. */
export function challenge(res: ServerResponse): void {
  res.statusCode = 401;
  res.setHeader('WWW-Authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end('authentication required\n');
}

/** `Basic base64(user:password)`; the password may contain `:`, the user may not (RFC 7617). */
function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

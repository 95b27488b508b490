import pino, { type Logger } from 'pino';

/** Paths pino censors: tokens must never reach logs, whatever object carries them. */
export const redactPaths = [
  'token',
  'accessToken',
  'authorization',
  'Authorization',
  '*.token',
  '*.accessToken',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'config.headers.Authorization',
  'HUBSPOT_ACCESS_TOKEN',
  'HUBSPOT_ACCOUNTS',
];

/** Creates the process logger: JSON lines on stdout (or stderr for CLI commands whose stdout is data). */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } }, pino.destination(destination));
}

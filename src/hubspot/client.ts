import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import axios from 'axios';
import type { Logger } from 'pino';
import { ConfigError, TokenProviderError } from '../errors.js';
import { toAnswer, transportFailure } from './answer.js';
import { reportingTransport } from './departure.js';
import {
  type BatchInput,
  type BatchReadRequest,
  type BatchRequest,
  type HubSpotAnswer,
  type HubSpotPort,
  type TokenProvider,
  TransportErrorCode,
} from './port.js';
import { ADDITIONAL_EMAILS } from './read-answer.js';
import { parseErrorBody } from './responses.js';

/** Options of {@link createHubSpotClient}. */
export interface HubSpotClientOptions {
  /** E.g. `https://api.hubapi.com`, or a simulator's URL; a path prefix is kept. */
  baseUrl: string;
  tokenProvider: TokenProvider;
  /** Deadline of one call, connect to last body byte. Default 30 000. */
  timeoutMs?: number;
  /** The date version in the path, default `2026-03`; `v3` selects the older `/crm/v3/objects/...` routes. */
  apiVersionPath?: string;
  logger?: Logger;
  /** Overrides for the keep-alive agents (both http and https). */
  httpAgentOptions?: http.AgentOptions;
  /** Largest response body accepted; larger ones become `NETWORK_ERROR`. Default 64 MiB. */
  maxResponseBytes?: number;
}

/** The HTTP implementation of {@link HubSpotPort}; `close()` releases its pooled sockets. */
export interface HubSpotClient extends HubSpotPort {
  close(): void;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_API_VERSION_PATH = '2026-03';
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * Creates the HubSpot client. Every HTTP status comes back as `{kind:'http'}` and every network failure as
 * `{kind:'transport'}`: the only rejection is {@link TokenProviderError}, when the token provider itself fails.
 * The token never leaves the Authorization header: messages are built from our own parts, and a response that
 * echoes the token has it replaced by `[REDACTED]`.
 * @throws ConfigError on an unusable base URL, timeout or API version.
 */
export function createHubSpotClient(options: HubSpotClientOptions): HubSpotClient {
  const baseUrl = checkBaseUrl(options.baseUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new ConfigError(['timeoutMs must be a positive number']);
  const version = options.apiVersionPath ?? DEFAULT_API_VERSION_PATH;
  if (!/^[\w.-]+$/.test(version)) throw new ConfigError(['apiVersionPath must be a single path segment']);
  const { tokenProvider, logger } = options;
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    maxSockets: 64,
    maxFreeSockets: 16,
    scheduling: 'lifo',
    // Idle pooled sockets are dropped before load balancers silently drop them (which would surface as resets).
    timeout: 30_000,
    ...options.httpAgentOptions,
  };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const api = axios.create({
    httpAgent,
    httpsAgent,
    timeout: timeoutMs,
    maxContentLength: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    maxBodyLength: Number.POSITIVE_INFINITY,
    // A redirect could carry the Authorization header elsewhere; HubSpot's API does not redirect.
    maxRedirects: 0,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
  });
  const route = (kind: 'objects' | 'properties', objectType: string) =>
    /^v\d+$/.test(version)
      ? `/crm/${version}/${kind}/${encodeURIComponent(objectType)}`
      : `/crm/${kind}/${version}/${encodeURIComponent(objectType)}`;

  async function call(
    method: 'GET' | 'POST',
    account: string,
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
    onSent?: (at: number) => void,
    mustLeaveBy?: number,
  ): Promise<HubSpotAnswer> {
    const started = performance.now();
    const transport = (code: TransportErrorCode, detail?: string): HubSpotAnswer => {
      const latencyMs = performance.now() - started;
      const message = `${code}: ${method} ${path} failed${detail ? ` (${detail})` : ''}`;
      logger?.warn({ account, method, path, code, latencyMs }, 'HubSpot call failed');
      return { kind: 'transport', code, message, latencyMs };
    };
    if (signal?.aborted) return transport(TransportErrorCode.aborted);
    let token: string;
    try {
      token = await tokenProvider(account);
    } catch (error) {
      throw new TokenProviderError(account, error);
    }
    if (signal?.aborted) return transport(TransportErrorCode.aborted);
    // axios' own timeout only watches socket idleness; this deadline also bounds a body that trickles in.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const departure = { late: false };
    try {
      const response = await api.request<unknown>({
        method,
        url: `${baseUrl}${path}`,
        data: body,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
        ...(onSent || mustLeaveBy !== undefined
          ? { transport: reportingTransport(onSent, mustLeaveBy, departure) }
          : {}),
      });
      const answer = toAnswer(response, token, performance.now() - started);
      if (answer.status === 401 && tokenProvider.invalidate && isExpiredToken(answer.body)) {
        try {
          await tokenProvider.invalidate(account, token);
          answer.tokenDropped = true;
        } catch (error) {
          // The provider's own error may quote what it was given; only its name is logged.
          logger?.warn(
            { account, err: error instanceof Error ? error.name : 'error' },
            'token provider could not drop an expired token',
          );
        }
      }
      logger?.debug(
        {
          account,
          method,
          path,
          status: answer.status,
          latencyMs: answer.latencyMs,
          correlationId: answer.correlationId,
          rateLimit: answer.rateLimit,
        },
        'HubSpot call',
      );
      return answer;
    } catch (error) {
      if (departure.late)
        return transport(TransportErrorCode.aborted, 'not sent: past its departure deadline');
      if (signal?.aborted) return transport(TransportErrorCode.aborted);
      if (deadline.signal.aborted)
        return transport(TransportErrorCode.timeout, `no complete answer in ${timeoutMs} ms`);
      const { code, detail } = transportFailure(error);
      return transport(code, detail);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    batchUpdate(request: BatchRequest): Promise<HubSpotAnswer> {
      const path = `${route('objects', request.objectType)}/batch/update`;
      const body = JSON.stringify({ inputs: request.inputs.map(wireInput) });
      return call('POST', request.account, path, body, request.signal, request.onSent, request.mustLeaveBy);
    },
    batchRead(request: BatchReadRequest): Promise<HubSpotAnswer> {
      const path = `${route('objects', request.objectType)}/batch/read`;
      const body = JSON.stringify({
        idProperty: request.idProperty,
        // A merged contact's other emails name it too but are not its `email`: asking for them lets the answer
        // be matched to the values asked for. HubSpot ignores the name on types that lack it.
        properties: request.idProperty === 'email' ? ['email', ADDITIONAL_EMAILS] : [request.idProperty],
        inputs: request.ids.map((id) => ({ id })),
      });
      return call('POST', request.account, path, body, request.signal, request.onSent, request.mustLeaveBy);
    },
    getProperties(account: string, objectType: string, signal?: AbortSignal): Promise<HubSpotAnswer> {
      return call('GET', account, route('properties', objectType), undefined, signal);
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** Only the fields HubSpot takes, whatever else the caller's objects carry. */
function wireInput(input: BatchInput): BatchInput {
  const { id, idProperty, properties, objectWriteTraceId } = input;
  return idProperty === undefined
    ? { id, properties, objectWriteTraceId }
    : { id, idProperty, properties, objectWriteTraceId };
}

/** True for HubSpot's answer to an expired OAuth token: a 401 body of category EXPIRED_AUTHENTICATION. */
function isExpiredToken(body: unknown): boolean {
  return parseErrorBody(body)?.category === 'EXPIRED_AUTHENTICATION';
}

function checkBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(['baseUrl must be an absolute http(s) URL']);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(['baseUrl must be an absolute http(s) URL']);
  }
  return raw.replace(/\/+$/, '');
}

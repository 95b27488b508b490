/**
 * HubSpot's error bodies, reproduced from hubspot-api.md and public SDK issue threads. Clients parse these,
 * so wording and field names follow what was observed even where it is odd.
 */
import { PolicyName } from './types.js';
import type { PropertyIssue } from './values.js';

/** HubSpot error categories the simulator answers with. */
export const ErrorCategory = {
  invalidAuthentication: 'INVALID_AUTHENTICATION',
  expiredAuthentication: 'EXPIRED_AUTHENTICATION',
  missingScopes: 'MISSING_SCOPES',
  validation: 'VALIDATION_ERROR',
  objectNotFound: 'OBJECT_NOT_FOUND',
  locked: 'LOCKED',
  migrationInProgress: 'MIGRATION_IN_PROGRESS',
} as const;
export type ErrorCategory = (typeof ErrorCategory)[keyof typeof ErrorCategory];

/** How a revoked token fails: as unknown credentials or as an expired OAuth token. */
export type AuthFailure = 'INVALID_AUTHENTICATION' | 'EXPIRED_AUTHENTICATION';

/** The common error envelope. */
export function errorBody(
  category: string,
  message: string,
  correlationId: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { status: 'error', message, correlationId, category, ...extra };
}

/** 401 body for a missing, unknown or revoked token. */
export function authErrorBody(failure: AuthFailure, correlationId: string, nowMs = Date.now()) {
  if (failure === 'EXPIRED_AUTHENTICATION') {
    return errorBody(
      failure,
      'The OAuth token used to make this call expired 75 second(s) ago.',
      correlationId,
      {
        context: { 'expire time': [new Date(nowMs - 75_000).toISOString()] },
      },
    );
  }
  return errorBody(
    failure,
    'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more ' +
      'details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
    correlationId,
  );
}

/** 403 body for a token lacking scopes. */
export function missingScopesBody(scopes: string[], correlationId: string) {
  return errorBody(
    ErrorCategory.missingScopes,
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: " +
      'https://developers.hubspot.com/scopes.',
    correlationId,
    {
      errors: [
        {
          message: 'One or more of the following scopes are required.',
          context: { requiredGranularScopes: scopes },
        },
      ],
      context: { requiredScopes: scopes },
      links: { scopes: 'https://developers.hubspot.com/scopes' },
    },
  );
}

const RATE_LIMIT_MESSAGE: Record<PolicyName, string> = {
  [PolicyName.tenSecondlyRolling]: 'You have reached your ten_secondly_rolling limit.',
  [PolicyName.secondly]: 'You have reached your secondly limit.',
  [PolicyName.daily]: 'You have reached your daily limit.',
};

/** 429 body: note it has `errorType`, not `category`. */
export function rateLimitBody(policyName: PolicyName, portalId: string, correlationId: string) {
  return {
    status: 'error',
    message: RATE_LIMIT_MESSAGE[policyName],
    errorType: 'RATE_LIMIT',
    correlationId,
    policyName,
    groupName: `publicapi:private-app:${portalId}`,
  };
}

/** 404 for a path the simulator does not serve. */
export function routeNotFoundBody(method: string, path: string, correlationId: string) {
  return errorBody(ErrorCategory.objectNotFound, `No route for ${method} ${path}`, correlationId);
}

/** 404 for an object type the portal does not have. */
export function unknownObjectTypeBody(objectType: string, correlationId: string) {
  return errorBody(
    ErrorCategory.objectNotFound,
    `Unable to infer object type from: ${objectType}`,
    correlationId,
  );
}

/** 400 whole-batch rejection. */
export function validationBody(message: string, correlationId: string, extra: Record<string, unknown> = {}) {
  return errorBody(ErrorCategory.validation, message, correlationId, extra);
}

/** 400 for invalid property values: the message embeds the issue list as JSON, the `errors` name each property. */
export function invalidPropertiesBody(issues: PropertyIssue[], correlationId: string) {
  const list = issues.map((i) => ({ isValid: false, message: i.message, error: i.error, name: i.name }));
  return validationBody(`Property values were not valid: ${JSON.stringify(list)}`, correlationId, {
    errors: issues.map((i) => ({ message: i.message, code: i.error, context: { propertyName: [i.name] } })),
  });
}

/** 423 during high-volume syncs. */
export function lockedBody(correlationId: string) {
  return errorBody(
    ErrorCategory.locked,
    'The resource is locked by another operation (high volume sync). Please wait at least 2 seconds and retry.',
    correlationId,
  );
}

/** 477 while the portal migrates. */
export function migrationBody(correlationId: string) {
  return errorBody(
    ErrorCategory.migrationInProgress,
    'Migration in progress: this account is being migrated. Retry after the time given in Retry-After.',
    correlationId,
  );
}

const GATEWAY_TITLE: Record<number, string> = {
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Temporarily Unavailable',
  504: '504 Gateway Time-out',
};

/** The HTML page a gateway in front of HubSpot answers 5xx with. */
export function gatewayHtml(status: number): string {
  const title = GATEWAY_TITLE[status] ?? `${status} Error`;
  return (
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` +
    '<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n'
  );
}

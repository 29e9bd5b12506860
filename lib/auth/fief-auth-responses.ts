import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import {
  FiefAccessTokenACRTooLow,
  FiefAccessTokenExpired,
  FiefAccessTokenInvalid,
  FiefAccessTokenMissingPermission,
  FiefAccessTokenMissingScope,
  FiefRequestError,
  FiefUnavailableError,
} from '../client/errors.js';
import type { FiefAuthFailure } from './fief-auth-failure.js';
import { FiefInvalidRequestError } from './token-extractor.js';

// RFC 6750 §3: error_description and realm are quoted-strings limited to %x20-21 / %x23-5B / %x5D-7E.
const NOT_QUOTABLE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

function quoted(value: string): string {
  return `"${value.replace(NOT_QUOTABLE, '')}"`;
}

/**
 * The `WWW-Authenticate` value of a refusal (RFC 6750 §3), e.g.
 * `Bearer realm="fief", error="insufficient_scope", error_description="...", scope="castles:read"`.
 * No `error` attribute when no credential was sent.
 */
export function buildWwwAuthenticate(realm: string, failure: FiefAuthFailure): string {
  let value = `Bearer realm=${quoted(realm)}`;
  if (failure.error) {
    value += `, error="${failure.error}", error_description=${quoted(failure.description)}`;
  }
  if (failure.scope?.length) value += `, scope=${quoted(failure.scope.join(' '))}`;
  if (failure.acr) value += `, acr_values=${quoted(failure.acr)}`;
  return value;
}

/**
 * The Nest exception of a refusal, with the body `{ message, error, statusCode }` written out: built from
 * a description and `{ cause }` alone, Nest 11 leaves out `error` (Nest 12 fills it in), and the answer
 * must be the same on both lines.
 */
export function createFiefAuthException(failure: FiefAuthFailure): HttpException {
  const options = { cause: failure.cause };
  const body = (error: string) => ({ message: failure.description, error, statusCode: failure.status });
  switch (failure.status) {
    case 400:
      return new BadRequestException(body('Bad Request'), options);
    case 403:
      return new ForbiddenException(body('Forbidden'), options);
    case 503:
      return new ServiceUnavailableException(body('Service Unavailable'), options);
    default:
      return new UnauthorizedException(body('Unauthorized'), options);
  }
}

/** The refusal when no credential was sent: 401 without an error code (RFC 6750 §3). */
export const MISSING_CREDENTIAL: FiefAuthFailure = Object.freeze({
  status: 401,
  description: 'An access token is required: send "Authorization: Bearer <token>".',
});

/**
 * Maps what verifying, checking or loading the user threw to a refusal. Errors that say nothing about
 * the credential (a bug, a cache that fails) give 503: never 500, never a pass.
 *
 * @param requiredScope the route's scopes, repeated in 403 challenges.
 */
export function toAuthFailure(error: unknown, requiredScope: string[] | undefined, retryAfter: number): FiefAuthFailure {
  if (error instanceof FiefInvalidRequestError) {
    return { status: error.status, error: 'invalid_request', description: error.message, cause: error };
  }
  // Expired is not an Invalid (as in Fief's Python client) but gets the same answer (RFC 6750 §3.1).
  if (error instanceof FiefAccessTokenInvalid || error instanceof FiefAccessTokenExpired) {
    return { status: 401, error: 'invalid_token', description: error.message, cause: error };
  }
  if (error instanceof FiefAccessTokenMissingScope) {
    return { status: 403, error: 'insufficient_scope', description: error.message, scope: error.requiredScope, cause: error };
  }
  if (error instanceof FiefAccessTokenMissingPermission) {
    return { status: 403, error: 'insufficient_scope', description: error.message, scope: requiredScope, cause: error };
  }
  if (error instanceof FiefAccessTokenACRTooLow) {
    return {
      status: 403,
      error: 'insufficient_scope',
      description: error.message,
      scope: requiredScope,
      acr: error.requiredAcr,
      cause: error,
    };
  }
  // Fief itself refusing the token on its user endpoints (deactivated user, revoked token).
  if (error instanceof FiefRequestError && error.status === 401) {
    return { status: 401, error: 'invalid_token', description: 'Fief refused the access token.', cause: error };
  }
  const description =
    error instanceof FiefUnavailableError
      ? 'Fief cannot be reached to check the access token; try again later.'
      : 'The access token cannot be checked right now; try again later.';
  return { status: 503, description, retryAfter, cause: error };
}

/** The headers of a refusal: the challenge on 400/401/403, `Retry-After` on 503. */
export function refusalHeaders(realm: string, failure: FiefAuthFailure): [name: string, value: string][] {
  if (failure.status === 503) return failure.retryAfter ? [['Retry-After', String(failure.retryAfter)]] : [];
  return [['WWW-Authenticate', buildWwwAuthenticate(realm, failure)]];
}

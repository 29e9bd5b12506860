import { describe, expect, it } from '@jest/globals';
import { buildWwwAuthenticate, createFiefAuthException, MISSING_CREDENTIAL, refusalHeaders, toAuthFailure } from '../../lib/auth/fief-auth-responses.js';
import { FiefInvalidRequestError } from '../../lib/auth/token-extractor.js';
import {
  FiefAccessTokenACRTooLow,
  FiefAccessTokenExpired,
  FiefAccessTokenInvalid,
  FiefAccessTokenMissingPermission,
  FiefAccessTokenMissingScope,
  FiefRequestError,
  FiefUnavailableError,
} from '../../lib/client/errors.js';

describe('buildWwwAuthenticate', () => {
  it('has no error code when no credential was sent (RFC 6750 §3)', () => {
    expect(buildWwwAuthenticate('fief', MISSING_CREDENTIAL)).toBe('Bearer realm="fief"');
  });

  it('carries error, description, scope and acr_values', () => {
    expect(
      buildWwwAuthenticate('castles', {
        status: 403,
        error: 'insufficient_scope',
        description: 'ACR too low: 1 required',
        scope: ['openid', 'castles'],
        acr: '1',
      }),
    ).toBe('Bearer realm="castles", error="insufficient_scope", error_description="ACR too low: 1 required", scope="openid castles", acr_values="1"');
  });

  it('drops characters a quoted-string may not carry', () => {
    const header = buildWwwAuthenticate('fief', { status: 401, error: 'invalid_token', description: 'bad "token"\\\n\u00e9' });
    expect(header).toBe('Bearer realm="fief", error="invalid_token", error_description="bad token"');
  });
});

describe('toAuthFailure', () => {
  const failure = (error: unknown) => toAuthFailure(error, ['castles'], 7);

  it('maps invalid and expired tokens to 401 invalid_token', () => {
    expect(failure(new FiefAccessTokenInvalid('Invalid signature'))).toMatchObject({ status: 401, error: 'invalid_token' });
    expect(failure(new FiefAccessTokenExpired('Expired'))).toMatchObject({ status: 401, error: 'invalid_token' });
    expect(failure(new FiefRequestError(401, '{}'))).toMatchObject({ status: 401, error: 'invalid_token' });
  });

  it('maps malformed and ambiguous credentials to invalid_request', () => {
    expect(failure(new FiefInvalidRequestError('malformed'))).toMatchObject({ status: 401, error: 'invalid_request' });
    expect(failure(new FiefInvalidRequestError('twice', 400))).toMatchObject({ status: 400, error: 'invalid_request' });
  });

  it('maps missing scope, permission and ACR to 403 insufficient_scope with the needed scope', () => {
    expect(failure(new FiefAccessTokenMissingScope(['openid', 'castles']))).toMatchObject({
      status: 403,
      error: 'insufficient_scope',
      scope: ['openid', 'castles'],
    });
    expect(failure(new FiefAccessTokenMissingPermission(['castles:create']))).toMatchObject({
      status: 403,
      error: 'insufficient_scope',
      scope: ['castles'],
      description: 'Missing required permission: castles:create',
    });
    expect(failure(new FiefAccessTokenACRTooLow('1'))).toMatchObject({ status: 403, acr: '1' });
  });

  it('answers 503 with Retry-After for Fief being unreachable and for anything unexpected, never 500', () => {
    expect(failure(new FiefUnavailableError('timeout'))).toMatchObject({ status: 503, retryAfter: 7 });
    expect(failure(new TypeError('bug'))).toMatchObject({ status: 503, retryAfter: 7 });
    expect(failure(new FiefRequestError(500, 'oops'))).toMatchObject({ status: 503 });
  });
});

describe('createFiefAuthException', () => {
  it.each([
    [400, 'Bad Request'],
    [401, 'Unauthorized'],
    [403, 'Forbidden'],
    [503, 'Service Unavailable'],
  ] as const)('gives Nest\'s JSON error body for %i', (status, error) => {
    const exception = createFiefAuthException({ status, description: 'why' });
    expect(exception.getStatus()).toBe(status);
    expect(exception.getResponse()).toEqual({ statusCode: status, message: 'why', error });
  });
});

describe('refusalHeaders', () => {
  it('challenges on 401/403 and only sets Retry-After on 503', () => {
    expect(refusalHeaders('fief', MISSING_CREDENTIAL)).toEqual([['WWW-Authenticate', 'Bearer realm="fief"']]);
    expect(refusalHeaders('fief', { status: 503, description: 'down', retryAfter: 10 })).toEqual([['Retry-After', '10']]);
  });
});

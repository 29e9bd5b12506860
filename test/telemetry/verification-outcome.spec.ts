/** Which outcome each error of the client's verification is counted under. */
import { describe, expect, it } from '@jest/globals';
import {
  FiefAccessTokenExpired,
  FiefAccessTokenInvalid,
  FiefError,
  FiefIdTokenInvalid,
  FiefRequestError,
  FiefUnavailableError,
} from '../../lib/client/errors.js';
import { fiefCallKind, verificationOutcome } from '../../lib/telemetry/index.js';

describe('verificationOutcome', () => {
  it.each([
    [new FiefAccessTokenExpired('expired'), 'expired'],
    [new FiefAccessTokenInvalid('forged'), 'invalid'],
    [new FiefUnavailableError('down'), 'unavailable'],
    [new FiefIdTokenInvalid('not an access token error'), 'error'],
    [new FiefRequestError(400, '{}'), 'error'],
    [new FiefError('generic'), 'error'],
    [new TypeError('a bug'), 'error'],
    ['a string', 'error'],
    [null, 'error'],
  ])('%s → %s', (error, outcome) => {
    expect(verificationOutcome(error)).toBe(outcome);
  });

  it('recognises a subclass with a code of its own by its class chain, most derived first', () => {
    class FiefAccessTokenRevoked extends FiefAccessTokenInvalid {
      static override readonly code: string = 'FIEF_ACCESS_TOKEN_REVOKED';
    }
    class LateExpiry extends FiefAccessTokenExpired {
      static override readonly code: string = 'FIEF_LATE_EXPIRY';
    }
    expect(verificationOutcome(new FiefAccessTokenRevoked('revoked'))).toBe('invalid');
    expect(verificationOutcome(new LateExpiry('late'))).toBe('expired');
  });
});

describe('fiefCallKind', () => {
  it.each([
    ['discovery', 'discovery'],
    ['JWKS', 'jwks'],
    ['token endpoint', 'token'],
    ['userinfo', 'userinfo'],
    ['profile update', 'user_api'],
    ['password change', 'user_api'],
    ['email change', 'user_api'],
    ['email verification', 'user_api'],
  ])('%s → %s', (what, kind) => {
    expect(fiefCallKind(what)).toBe(kind);
  });
});

/**
 * The error contract of Fief's Python client: every error is a FiefError, "expired" is not an
 * "invalid" (catching one must not swallow the other), and each class has a stable `code`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as errors from '../../lib/client/errors.js';
import { FiefAccessTokenExpired, FiefAccessTokenInvalid, FiefError } from '../../lib/client/errors.js';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FiefInvalidRequestError } from '../../lib/auth/token-extractor.js';
import { FiefCookieTooLargeError } from '../../lib/login/login.errors.js';
import { DEFAULT_DEV_CLIENT, FiefDevServer } from '../../lib/testing/index.js';

const EXPECTED_CODES: Record<string, string> = {
  FiefError: 'FIEF_ERROR',
  FiefRequestError: 'FIEF_REQUEST_ERROR',
  FiefUnavailableError: 'FIEF_UNAVAILABLE',
  FiefAccessTokenInvalid: 'FIEF_ACCESS_TOKEN_INVALID',
  FiefAccessTokenExpired: 'FIEF_ACCESS_TOKEN_EXPIRED',
  FiefAccessTokenMissingScope: 'FIEF_ACCESS_TOKEN_MISSING_SCOPE',
  FiefAccessTokenACRTooLow: 'FIEF_ACCESS_TOKEN_ACR_TOO_LOW',
  FiefAccessTokenMissingPermission: 'FIEF_ACCESS_TOKEN_MISSING_PERMISSION',
  FiefIdTokenInvalid: 'FIEF_ID_TOKEN_INVALID',
};

describe('Fief errors', () => {
  it('give every class its own stable code, on the class and on each instance', () => {
    const classes = Object.entries(errors) as [string, typeof FiefError][];
    expect(Object.fromEntries(classes.map(([name, Class]) => [name, Class.code]))).toEqual(EXPECTED_CODES);
    for (const [name, Class] of classes) {
      const instance = new (Class as unknown as new (...args: unknown[]) => FiefError)(400, 'detail');
      expect(instance).toBeInstanceOf(FiefError);
      expect(instance.code).toBe(EXPECTED_CODES[name]);
      expect(instance.name).toBe(name);
    }
    expect(new FiefInvalidRequestError('x').code).toBe('FIEF_INVALID_REQUEST');
    expect(new FiefCookieTooLargeError('fief_session', 5000).code).toBe('FIEF_COOKIE_TOO_LARGE');
  });

  it('keep "expired" apart from "invalid": both FiefErrors, neither a subclass of the other', () => {
    const expired = new FiefAccessTokenExpired('Access token has expired');
    expect(expired).toBeInstanceOf(FiefError);
    expect(expired).not.toBeInstanceOf(FiefAccessTokenInvalid);
    expect(new FiefAccessTokenInvalid('bad')).not.toBeInstanceOf(FiefAccessTokenExpired);
  });

  describe('from a real verification', () => {
    let dev: FiefDevServer;
    let fief: FiefClient;
    beforeAll(async () => {
      dev = new FiefDevServer();
      await dev.start();
      fief = new FiefClient({ baseURL: dev.baseURL, clientId: DEFAULT_DEV_CLIENT.clientId });
    });
    afterAll(() => dev.stop());

    it('an expired token is caught by its own class only, as the Python reference example does', async () => {
      const token = await dev.issueAccessToken({ expiresIn: -120 });
      let caught = '';
      try {
        await fief.validateAccessToken(token);
      } catch (error) {
        if (error instanceof FiefAccessTokenInvalid) caught = 'invalid';
        else if (error instanceof FiefAccessTokenExpired) caught = `expired ${error.code}`;
      }
      expect(caught).toBe('expired FIEF_ACCESS_TOKEN_EXPIRED');
      const invalid = await fief.verifyAccessToken('not-a-jwt').catch((error: unknown) => error);
      expect((invalid as FiefError).code).toBe('FIEF_ACCESS_TOKEN_INVALID');
    });
  });
});

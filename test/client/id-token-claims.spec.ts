/**
 * Issue 10 §2 for ID tokens too: NumericDates as whole seconds and `exp` within maxTokenLifetime. A
 * small real HTTP server plays Fief's token endpoint and answers ID tokens signed by the dev server's key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FiefIdTokenInvalid } from '../../lib/client/errors.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { sendJson, startStubServer } from './stub-http-server.js';

const now = () => Math.floor(Date.now() / 1000);

describe('ID token claim shapes', () => {
  let dev: FiefDevServer;
  let stub: Awaited<ReturnType<typeof startStubServer>>;
  let idToken = '';
  let fief: FiefClient;

  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
    stub = await startStubServer((req, res, base) => {
      if (req.url === '/.well-known/openid-configuration') {
        return sendJson(res, 200, {
          issuer: dev.issuer,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/api/token`,
          userinfo_endpoint: `${base}/api/userinfo`,
          jwks_uri: `${dev.baseURL}/.well-known/jwks.json`,
        });
      }
      sendJson(res, 200, { access_token: 'opaque', id_token: idToken, token_type: 'bearer', expires_in: 3600 });
    });
    fief = new FiefClient({ baseURL: stub.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' });
  });
  afterAll(async () => {
    await stub.close();
    await dev.stop();
  });

  it.each([
    ['exp a float', { exp: now() + 3600.5 }, /"exp" claim must be an integer/],
    ['auth_time a float', { auth_time: now() - 1.5 }, /"auth_time" claim must be an integer/],
    ['iat a float', { iat: now() - 0.5 }, /"iat" claim must be an integer/],
    ['exp 11 years ahead', { exp: now() + 11 * 365 * 24 * 3600 }, /maxTokenLifetime/],
  ])('refuses an ID token with %s', async (_name, claims, message) => {
    idToken = await dev.issueIdToken({ claims });
    const error = await fief.authRefreshToken('a-refresh-token').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FiefIdTokenInvalid);
    expect((error as Error).message).toMatch(message);
  });

  it('accepts whole-second claims (control case)', async () => {
    idToken = await dev.issueIdToken({ claims: { auth_time: now() - 60 } });
    const [, user] = await fief.authRefreshToken('a-refresh-token');
    expect(user.sub).toBe(dev.users[0].id);
  });
});

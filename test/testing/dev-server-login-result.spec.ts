/**
 * login()'s result is a union narrowed by `ok`: on success `code` is a string (strict mode compiles
 * `const code: string = result.code` once narrowed), on failure `error` is.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FiefDevServer, type FiefDevLoginResult } from '../../lib/testing/index.js';

describe('FiefDevServer.login result', () => {
  const dev = new FiefDevServer();
  const authorize = (email: string, extra: Record<string, string> = {}) =>
    `${dev.baseURL}/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'fief-dev-client', redirect_uri: 'http://127.0.0.1:9999/cb', scope: 'openid', login_hint: email, ...extra })}`;

  beforeAll(() => dev.start());
  afterAll(() => dev.stop());

  it('gives ok, a string code and the state on success', async () => {
    const result: FiefDevLoginResult = await dev.login(authorize('anne@bretagne.duchy', { state: 's-1' }));
    if (!result.ok) throw new Error(`expected a code, got ${result.error}`);
    const code: string = result.code;
    expect(code).toMatch(/^[\w-]{20,}$/);
    expect(result).toEqual({ ok: true, code, state: 's-1', url: `http://127.0.0.1:9999/cb?code=${code}&state=s-1&iss=${encodeURIComponent(dev.issuer)}` });
  });

  it('gives ok false and the OAuth error when Fief refuses', async () => {
    dev.addUser({ email: 'inactive@example.com', isActive: false });
    const result = await dev.login(authorize('inactive@example.com', { state: 's-2' }));
    expect(result).toMatchObject({ ok: false, error: 'access_denied', error_description: 'The user is inactive', state: 's-2' });
    expect(result.code).toBeUndefined();
    // prompt=none without a session at Fief: the error comes back to the client, as OIDC says.
    const silent = await dev.login(authorize('anne@bretagne.duchy', { prompt: 'none' }));
    expect(silent).toMatchObject({ ok: false, error: 'login_required' });
  });
});

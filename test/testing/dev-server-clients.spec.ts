/**
 * Client registrations of the dev server, over real HTTP: public clients and PKCE (S256 and Fief's
 * `plain`), the redirect URIs it accepts, inactive users, and its optional logging.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { FiefDevServer } from '../../lib/testing/index.js';

const verifier = () => randomBytes(32).toString('base64url');
const s256 = (value: string) => createHash('sha256').update(value).digest('base64url');

describe('FiefDevServer clients', () => {
  const dev = new FiefDevServer({
    clients: [
      { clientId: 'confidential', clientSecret: 'secret' },
      { clientId: 'public-spa' },
      { clientId: 'pinned', clientSecret: 'secret', redirectUris: ['http://127.0.0.1:4000/exact'] },
    ],
  });
  let base: string;

  const authorizeUrl = (params: Record<string, string>) =>
    `${base}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: 'confidential',
      redirect_uri: 'http://127.0.0.1:9999/callback',
      scope: 'openid',
      state: 'st-1',
      login_hint: 'anne@bretagne.duchy',
      ...params,
    })}`;
  const exchange = (body: Record<string, string>) =>
    fetch(`${base}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', ...body }),
    });

  beforeAll(async () => {
    base = await dev.start();
  });
  afterAll(() => dev.stop());

  it('makes a public client use PKCE and lets it redeem its code without a secret', async () => {
    const redirect = 'http://localhost:5173/auth/callback';
    const refused = await dev.login(authorizeUrl({ client_id: 'public-spa', redirect_uri: redirect }));
    expect(refused).toMatchObject({ error: 'invalid_request', state: 'st-1' });
    expect(refused.url.startsWith(redirect)).toBe(true);

    const codeVerifier = verifier();
    const { code } = await dev.login(
      authorizeUrl({ client_id: 'public-spa', redirect_uri: redirect, code_challenge: s256(codeVerifier), code_challenge_method: 'S256' }),
    );
    const redeemed = await exchange({ client_id: 'public-spa', code: code!, redirect_uri: redirect, code_verifier: codeVerifier });
    expect(redeemed.status).toBe(200);
    const { access_token } = (await redeemed.json()) as { access_token: string };
    expect(decodeJwt(access_token)).toMatchObject({ aud: ['public-spa'], azp: 'public-spa' });
  });

  it("accepts Fief's plain PKCE, also when no method is given, and checks the verifier", async () => {
    for (const method of [{ code_challenge_method: 'plain' }, {}] as Record<string, string>[]) {
      const codeVerifier = verifier();
      const redirect = 'http://127.0.0.1:9999/callback';
      const { code } = await dev.login(authorizeUrl({ code_challenge: codeVerifier, ...method }));
      const auth = { client_id: 'confidential', client_secret: 'secret', redirect_uri: redirect };
      const wrong = await exchange({ ...auth, code: code!, code_verifier: verifier() });
      expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });

      const { code: again } = await dev.login(authorizeUrl({ code_challenge: codeVerifier, ...method }));
      expect((await exchange({ ...auth, code: again!, code_verifier: codeVerifier })).status).toBe(200);
    }
    const malformed = await dev.login(authorizeUrl({ code_challenge: 'short', code_challenge_method: 'plain' }));
    expect(malformed.error).toBe('invalid_request');
  });

  it('accepts any local redirect URI by default, and only the listed ones when a client lists some', async () => {
    for (const redirect of ['http://127.0.0.1:1234/a', 'http://localhost:8080/b/c?x=1']) {
      const result = await dev.login(authorizeUrl({ redirect_uri: redirect }));
      expect(result.code).toEqual(expect.any(String));
      expect(result.url.startsWith(redirect)).toBe(true);
    }
    await expect(dev.login(authorizeUrl({ redirect_uri: 'https://evil.example/callback' }))).rejects.toThrow(/redirect_uri/);
    await expect(dev.login(authorizeUrl({ redirect_uri: 'http://127.0.0.1:1234/a#frag' }))).rejects.toThrow();

    const exact = await dev.login(authorizeUrl({ client_id: 'pinned', redirect_uri: 'http://127.0.0.1:4000/exact' }));
    expect(exact.code).toEqual(expect.any(String));
    await expect(dev.login(authorizeUrl({ client_id: 'pinned', redirect_uri: 'http://127.0.0.1:4000/other' }))).rejects.toThrow(
      /redirect_uri/,
    );
    // A redeemed code must come with the URI it was issued for.
    const { code } = await dev.login(authorizeUrl({ redirect_uri: 'http://127.0.0.1:1234/a' }));
    const mismatch = await exchange({
      client_id: 'confidential',
      client_secret: 'secret',
      code: code!,
      redirect_uri: 'http://localhost:8080/b/c?x=1',
    });
    expect(await mismatch.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses to log in an inactive user and to serve them the user API', async () => {
    const inactive = dev.addUser({ email: 'banned@example.com', isActive: false });
    expect(await dev.login(authorizeUrl({ login_hint: inactive.email }))).toMatchObject({ error: 'access_denied', state: 'st-1' });
    const token = await dev.issueAccessToken({ user: inactive.id, clientId: 'confidential' });
    const userinfo = await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect(userinfo.status).toBe(401);
  });

  it('serves the user API only to tokens signed by a key it still publishes', async () => {
    const userinfo = async (token: string) =>
      (await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${token}` } })).status;
    const before = await dev.issueAccessToken({ clientId: 'confidential' });
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(decodeJwt(before)).setProtectedHeader({ alg: 'RS256', kid: dev.signingKey.kid }).sign(privateKey);
    expect(await userinfo(forged)).toBe(401);
    const unsigned = `${before.split('.').slice(0, 2).join('.')}.`;
    expect(await userinfo(unsigned)).toBe(401);

    await dev.rotateSigningKey();
    expect(await userinfo(before)).toBe(200);
    await dev.rotateSigningKey({ keepOld: false });
    expect(await userinfo(before)).toBe(401);
    expect(await userinfo(await dev.issueAccessToken({ clientId: 'confidential' }))).toBe(200);
  });

  it('shows the picker again for an unknown login_hint instead of inventing a user', async () => {
    await expect(dev.login(authorizeUrl({ login_hint: 'nobody@example.com' }))).rejects.toThrow(/No user nobody@example.com/);
  });
});

describe('FiefDevServer logging', () => {
  it('is silent by default and logs requests when silent is false', async () => {
    const info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
    try {
      const quiet = new FiefDevServer();
      const loud = new FiefDevServer({ silent: false });
      try {
        await fetch(`${await quiet.start()}/.well-known/jwks.json`);
        expect(info).not.toHaveBeenCalled();
        const response = await fetch(`${await loud.start()}/.well-known/jwks.json`);
        await response.arrayBuffer();
        await new Promise((resolve) => setImmediate(resolve));
        expect(info).toHaveBeenCalledWith(expect.stringContaining('GET /.well-known/jwks.json 200'));
      } finally {
        await Promise.all([quiet.stop(), loud.stop()]);
      }
    } finally {
      info.mockRestore();
    }
  });
});

describe('FiefDevServer options', () => {
  it.each([
    ['no client', { clients: [] }, /at least one client/],
    ['an empty clientId', { clients: [{ clientId: '' }] }, /clientId must be a non-empty string/],
    ['a clientId used twice', { clients: [{ clientId: 'a' }, { clientId: 'a', clientSecret: 's' }] }, /used twice/],
    ['an empty secret', { clients: [{ clientId: 'a', clientSecret: '' }] }, /clientSecret must be a non-empty string/],
    ['a relative redirect URI', { clients: [{ clientId: 'a', redirectUris: ['/callback'] }] }, /absolute URL/],
    ['a redirect URI with a fragment', { clients: [{ clientId: 'a', redirectUris: ['http://127.0.0.1/cb#x'] }] }, /without a fragment/],
    ['an empty redirect URI list', { clients: [{ clientId: 'a', redirectUris: [] }] }, /redirectUris is empty/],
    ['a non-RSA encryption key', { clients: [{ clientId: 'a', encryptionKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } }] }, /public RSA JWK/],
    ['a private encryption key', { clients: [{ clientId: 'a', encryptionKey: { kty: 'RSA', n: 'n', e: 'AQAB', d: 'd' } }] }, /PUBLIC key/],
    ['a zero token lifetime', { clients: [{ clientId: 'a', accessTokenTtl: 0 }] }, /accessTokenTtl/],
    ['a user without email', { users: [{ email: 'nobody' }] }, /needs an email address/],
    ['two users with one email', { users: [{ email: 'a@b.c' }, { email: 'a@b.c' }] }, /already a user with email a@b.c/],
    ['a 1024-bit key', { keySize: 1024 as 2048 }, /keySize must be 2048 or 4096/],
    ['a fractional refresh lifetime', { refreshTokenTtl: 1.5 }, /refreshTokenTtl/],
  ])('refuses %s at construction', (_name, options, message) => {
    expect(() => new FiefDevServer(options)).toThrow(message);
  });

  it('refuses an unknown fault or endpoint', () => {
    const dev = new FiefDevServer();
    expect(() => dev.setFault('jwks', 'slow:soon' as 'slow:1')).toThrow(/unknown fault slow:soon/);
    expect(() => dev.setFault('admin' as 'jwks', 'down')).toThrow(/unknown endpoint admin/);
  });

  it('refuses to add a user whose id is taken', () => {
    const dev = new FiefDevServer();
    expect(() => dev.addUser({ id: dev.users[0].id, email: 'twin@example.com' })).toThrow(/already a user with id/);
  });
});

describe('FiefDevServer with its own issuer', () => {
  it('signs with the configured issuer and still serves its endpoints on the address it listens on', async () => {
    // Fief advertises an https issuer even when reached over http inside a network.
    const dev = new FiefDevServer({ issuer: 'https://fief.example.com' });
    const base = await dev.start();
    try {
      const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Record<string, string>;
      expect(discovery).toMatchObject({ issuer: 'https://fief.example.com', token_endpoint: `${base}/api/token` });
      const redirect = 'http://127.0.0.1:9999/callback';
      const { code } = await dev.login(
        `${base}/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'fief-dev-client', redirect_uri: redirect, scope: 'openid', login_hint: 'guest@example.com' })}`,
      );
      const response = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: redirect, client_id: 'fief-dev-client', client_secret: 'fief-dev-secret' }),
      });
      const { access_token, id_token } = (await response.json()) as Record<string, string>;
      expect(decodeJwt(access_token).iss).toBe('https://fief.example.com');
      expect(decodeJwt(id_token).iss).toBe('https://fief.example.com');
      const userinfo = await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${access_token}` } });
      expect(await userinfo.json()).toMatchObject({ email: 'guest@example.com' });
    } finally {
      await dev.stop();
    }
  });
});

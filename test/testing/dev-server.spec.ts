/**
 * The embedded dev server speaks Fief's protocol: checked over real HTTP with fetch and jose only
 * (not with FiefClient), so a bug in the client cannot hide one here.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import {
  compactDecrypt,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose';
import { FiefDevServer } from '../../lib/testing/index.js';

const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };
const REDIRECT = 'http://127.0.0.1:9999/callback';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('FiefDevServer', () => {
  const dev = new FiefDevServer();
  let base: string;
  let discovery: Record<string, unknown>;

  const authorizeUrl = (params: Record<string, string>) => {
    const url = new URL(discovery.authorization_endpoint as string);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT.clientId,
      redirect_uri: REDIRECT,
      scope: 'openid',
      login_hint: 'anne@bretagne.duchy',
      ...params,
    }).toString();
    return url.href;
  };
  const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(discovery.token_endpoint as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body),
    });
  const loginTokens = async (scope = 'openid', verifier = randomBytes(32).toString('base64url')) => {
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const { code } = await dev.login(authorizeUrl({ scope, code_challenge: challenge, code_challenge_method: 'S256' }));
    const response = await token(
      { grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, code_verifier: verifier },
      { authorization: basic(CLIENT.clientId, CLIENT.clientSecret) },
    );
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, string>;
  };
  const verify = async (jwt: string) => {
    const jwks = (await (await fetch(discovery.jwks_uri as string)).json()) as JSONWebKeySet;
    return (await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: dev.issuer, algorithms: ['RS256'] })).payload;
  };

  beforeAll(async () => {
    base = await dev.start();
    discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  });
  afterAll(() => dev.stop());

  it("advertises Fief's endpoints and capabilities in its discovery document", () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(discovery).toMatchObject({
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/api/token`,
      userinfo_endpoint: `${base}/api/userinfo`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      scopes_supported: ['openid', 'offline_access'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      id_token_signing_alg_values_supported: ['RS256'],
      id_token_encryption_alg_values_supported: ['RSA-OAEP-256'],
      id_token_encryption_enc_values_supported: ['A256CBC-HS512'],
      acr_values_supported: ['0', '1'],
    });
    expect(discovery).not.toHaveProperty('end_session_endpoint');
    expect(discovery).not.toHaveProperty('introspection_endpoint');
  });

  it('publishes only public RS256 signing keys', async () => {
    const { keys } = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: dev.signingKey.kid });
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('runs a code flow with PKCE and gives Fief-shaped tokens', async () => {
    const tokens = await loginTokens('openid', randomBytes(32).toString('base64url'));
    expect(tokens.refresh_token).toBeUndefined();
    const anne = dev.findUser('anne@bretagne.duchy')!;

    expect(decodeProtectedHeader(tokens.access_token)).toEqual({ alg: 'RS256', kid: dev.signingKey.kid });
    const access = await verify(tokens.access_token);
    expect(access).toMatchObject({
      sub: anne.id,
      aud: [CLIENT.clientId],
      azp: CLIENT.clientId,
      scope: 'openid',
      acr: '1',
      auth_time: expect.any(Number),
      permissions: ['castles:read', 'castles:create'],
    });
    expect(access).not.toHaveProperty('jti');
    expect(access).not.toHaveProperty('email');

    const id = await verify(tokens.id_token);
    expect(id).toMatchObject({
      sub: anne.id,
      email: 'anne@bretagne.duchy',
      email_verified: true,
      is_active: true,
      tenant_id: dev.tenantId,
      fields: { first_name: 'Anne', last_name: 'De Bretagne' },
      azp: CLIENT.clientId,
      acr: '1',
      auth_time: access.auth_time,
    });
    expect(id).not.toHaveProperty('scope');
  });

  it('refuses a wrong PKCE verifier, a reused code and a wrong secret', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const { code } = await dev.login(authorizeUrl({ code_challenge: challenge, code_challenge_method: 'S256' }));
    const auth = { authorization: basic(CLIENT.clientId, CLIENT.clientSecret) };
    const exchange = (codeVerifier: string) =>
      token({ grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, code_verifier: codeVerifier }, auth);

    const wrongVerifier = await exchange(randomBytes(32).toString('base64url'));
    expect(wrongVerifier.status).toBe(400);
    expect(await wrongVerifier.json()).toMatchObject({ error: 'invalid_grant' });

    const { code: second } = await dev.login(authorizeUrl({}));
    const once = () => token({ grant_type: 'authorization_code', code: second!, redirect_uri: REDIRECT }, auth);
    expect((await once()).status).toBe(200);
    const replay = await once();
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });

    const { code: third } = await dev.login(authorizeUrl({}));
    const wrongSecret = await token(
      { grant_type: 'authorization_code', code: third!, redirect_uri: REDIRECT },
      { authorization: basic(CLIENT.clientId, 'not-the-secret') },
    );
    expect(wrongSecret.status).toBe(400);
    expect(await wrongSecret.json()).toMatchObject({ error: 'invalid_client' });
    const unknownClient = await token({
      grant_type: 'authorization_code',
      code: third!,
      redirect_uri: REDIRECT,
      client_id: 'nobody',
      client_secret: 'x',
    });
    expect(unknownClient.status).toBe(400);
    expect(await unknownClient.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('grants offline_access, rotates refresh tokens, narrows scope and drops acr to 0', async () => {
    const tokens = await loginTokens('openid offline_access');
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const refresh = (refreshToken: string, scope?: string) =>
      token({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: CLIENT.clientId,
        client_secret: CLIENT.clientSecret,
        ...(scope ? { scope } : {}),
      });

    const refreshed = await refresh(tokens.refresh_token);
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get('cache-control')).toBe('no-store');
    const next = (await refreshed.json()) as Record<string, string>;
    expect(Object.keys(next).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'token_type']);
    expect(next.token_type).toBe('bearer');
    expect(next.refresh_token).not.toEqual(tokens.refresh_token);
    expect(await verify(next.access_token)).toMatchObject({ scope: 'openid offline_access', acr: '0', auth_time: expect.any(Number) });

    const widened = await refresh(next.refresh_token, 'openid offline_access castles');
    expect(widened.status).toBe(400);
    expect(await widened.json()).toMatchObject({ error: 'invalid_scope' });

    // Narrowing offline_access away: Fief answers without a refresh token and deletes the used one.
    const narrowed = await refresh(next.refresh_token, 'openid');
    expect(narrowed.status).toBe(200);
    const last = (await narrowed.json()) as Record<string, string>;
    expect(last.refresh_token).toBeUndefined();
    expect(await verify(last.access_token)).toMatchObject({ scope: 'openid', acr: '0' });
    expect((await refresh(next.refresh_token)).status).toBe(400);

    const reused = await refresh(tokens.refresh_token);
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('kills the rotated refresh token too when a used one comes back (RFC 9700 reuse detection)', async () => {
    const { refresh_token: first } = await loginTokens('openid offline_access');
    const refresh = (refreshToken: string) =>
      token({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret });
    const { refresh_token: second } = (await (await refresh(first)).json()) as Record<string, string>;
    expect((await refresh(first)).status).toBe(400);
    const afterTheft = await refresh(second);
    expect(afterTheft.status).toBe(400);
    expect(await afterTheft.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('serves the user API to a valid access token only', async () => {
    const anne = dev.addUser({ email: 'claude@france.kingdom', fields: { first_name: 'Claude' } });
    const access = await dev.issueAccessToken({ user: anne.email, acr: '1' });
    const call = (path: string, method: string, body?: unknown, bearer = access) =>
      fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    expect(await (await call('/api/userinfo', 'GET')).json()).toEqual({
      sub: anne.id,
      email: 'claude@france.kingdom',
      email_verified: true,
      is_active: true,
      tenant_id: dev.tenantId,
      fields: { first_name: 'Claude' },
    });
    const profile = await call('/api/profile', 'PATCH', { fields: { last_name: 'De France' } });
    expect(await profile.json()).toMatchObject({ fields: { first_name: 'Claude', last_name: 'De France' } });
    expect((await call('/api/password', 'PATCH', { password: 'hermine-1514' })).status).toBe(200);

    const change = await call('/api/email/change', 'PATCH', { email: 'claude@blois.castle' });
    expect(change.status).toBe(202);
    const code = dev.getEmailVerificationCode(anne.id!)!;
    expect((await call('/api/email/verify', 'POST', { code: `${code}0` })).status).toBe(400);
    expect(await (await call('/api/email/verify', 'POST', { code })).json()).toMatchObject({ email: 'claude@blois.castle' });

    const levelZero = await dev.issueAccessToken({ user: anne.id, acr: '0' });
    expect((await call('/api/password', 'PATCH', { password: 'hermine-1514' }, levelZero)).status).toBe(403);
    const idToken = await dev.issueIdToken({ user: anne.id });
    expect((await call('/api/userinfo', 'GET', undefined, idToken)).status).toBe(401);
    const expired = await dev.issueAccessToken({ user: anne.id, expiresIn: -60 });
    const refused = await call('/api/userinfo', 'GET', undefined, expired);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const foreign = await dev.issueAccessToken({ user: anne.id, claims: { aud: ['not-a-client-of-this-tenant'] } });
    expect((await call('/api/userinfo', 'POST', undefined, foreign)).status).toBe(401);
    expect((await call('/api/userinfo', 'POST')).status).toBe(200);
  });

  it('keeps a browser logged in until /logout, which asks who logs in next time', async () => {
    const jar = new Map<string, string>();
    const browse = async (url: string, init: RequestInit = {}) => {
      const response = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...init.headers, cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
      }
      return response;
    };
    /** Follows the dev server's redirects; answers the client's callback URL, or the page it stopped on. */
    const follow = async (response: Response): Promise<{ callback?: URL; page?: string; pageUrl?: string }> => {
      let current = response;
      for (let hop = 0; hop < 10; hop++) {
        const location = current.headers.get('location');
        if (!location) return { page: await current.text(), pageUrl: current.url };
        const next = new URL(location, base);
        if (next.origin !== base) return { callback: next };
        current = await browse(next.href);
      }
      throw new Error('too many redirects');
    };

    const first = await follow(await browse(authorizeUrl({ login_hint: '' })));
    expect(first.page).toContain('Sign in as guest@example.com');
    const action = /action="([^"]+)"/.exec(first.page!)![1];
    const picked = await follow(
      await browse(new URL(action, base).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: 'guest@example.com' }),
      }),
    );
    expect(picked.callback?.searchParams.get('code')).toEqual(expect.any(String));

    const acrOf = async (code: string) => {
      const response = await token(
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
        { authorization: basic(CLIENT.clientId, CLIENT.clientSecret) },
      );
      const tokens = (await response.json()) as Record<string, string>;
      return [(await verify(tokens.access_token)).acr, (await verify(tokens.id_token)).acr];
    };
    expect(await acrOf(picked.callback!.searchParams.get('code')!)).toEqual(['1', '1']);

    // Logging in again on the same session is Fief's level 0, until the user really logs in again.
    const again = await follow(await browse(authorizeUrl({ login_hint: '' })));
    expect(await acrOf(again.callback!.searchParams.get('code')!)).toEqual(['0', '0']);
    const forced = await follow(await browse(authorizeUrl({ login_hint: 'guest@example.com', prompt: 'login' })));
    expect(await acrOf(forced.callback!.searchParams.get('code')!)).toEqual(['1', '1']);

    const logout = await browse(`${base}/logout?redirect_uri=${encodeURIComponent('http://127.0.0.1:9999/')}`);
    expect(logout.status).toBe(302);
    const afterLogout = await follow(await browse(authorizeUrl({ login_hint: '' })));
    expect(afterLogout.callback).toBeUndefined();
    expect(afterLogout.page).toContain('Sign in as anne@bretagne.duchy');
  });

  it('redirects /logout to its redirect_uri, and requires one', async () => {
    const response = await fetch(`${base}/logout?redirect_uri=${encodeURIComponent('http://127.0.0.1:9999/')}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('http://127.0.0.1:9999/');
    expect((await fetch(`${base}/logout`, { redirect: 'manual' })).status).toBe(400);
  });

  it('mints tokens with overridden claims and headers', async () => {
    const forged = await dev.issueAccessToken({
      scope: ['openid', 'offline_access'],
      claims: { azp: 'someone-else', exp: undefined },
      header: { typ: 'JWT' },
    });
    expect(decodeProtectedHeader(forged)).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: dev.signingKey.kid });
    const claims = decodeJwt(forged);
    expect(claims).toMatchObject({ azp: 'someone-else', scope: 'openid offline_access' });
    expect(claims).not.toHaveProperty('exp');
    expect(decodeJwt(await dev.issueIdToken({ nonce: 'n-1' }))).toMatchObject({ nonce: 'n-1', email: 'anne@bretagne.duchy' });
  });

  it('shows a page to pick a user when no login_hint is given', async () => {
    const cookies: string[] = [];
    const first = await fetch(authorizeUrl({ login_hint: '' }), { redirect: 'manual' });
    cookies.push(...first.headers.getSetCookie().map((line) => line.split(';')[0]));
    const page = await fetch(new URL(first.headers.get('location')!, base), { headers: { cookie: cookies.join('; ') } });
    const html = await page.text();
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(html).toContain('Sign in as anne@bretagne.duchy');
    expect(html).toContain('Sign in as guest@example.com');

    const stale = await fetch(`${base}/interaction/not-a-login`, { redirect: 'manual' });
    expect(stale.status).toBe(400);
    expect(await stale.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('counts requests, rotates keys and injects faults', async () => {
    dev.resetRequestCounts();
    await fetch(`${base}/.well-known/openid-configuration`);
    await fetch(`${base}/.well-known/jwks.json`);
    await fetch(`${base}/.well-known/jwks.json`);
    expect(dev.requestCounts).toMatchObject({ discovery: 1, jwks: 2 });

    const oldKid = dev.signingKey.kid;
    const before = await dev.issueAccessToken();
    await dev.rotateSigningKey();
    expect(dev.signingKey.kid).not.toBe(oldKid);
    const kids = ((await (await fetch(`${base}/.well-known/jwks.json`)).json()) as JSONWebKeySet).keys.map((k) => k.kid);
    expect(kids).toEqual([dev.signingKey.kid, oldKid]);
    expect(decodeProtectedHeader((await loginTokens()).access_token).kid).toBe(dev.signingKey.kid);
    await expect(verify(before)).resolves.toBeDefined();

    dev.setFault('jwks', 'html');
    const html = await fetch(`${base}/.well-known/jwks.json`);
    expect(html.headers.get('content-type')).toContain('text/html');
    dev.setFault('jwks', '500');
    expect((await fetch(`${base}/.well-known/jwks.json`)).status).toBe(500);
    dev.setFault('discovery', 'down');
    await expect(fetch(`${base}/.well-known/openid-configuration`)).rejects.toThrow();
    dev.setFault('discovery', 'hang');
    await expect(fetch(`${base}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    dev.setFault('all', 'slow:150');
    const started = Date.now();
    expect((await fetch(`${base}/.well-known/jwks.json`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    dev.setFault('all', null);
    expect((await fetch(`${base}/.well-known/openid-configuration`)).status).toBe(200);
  });
});

describe('FiefDevServer with an encrypting client', () => {
  it('encrypts ID tokens to the client key (RSA-OAEP-256 / A256CBC-HS512, nested JWT)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const dev = new FiefDevServer({
      clients: [{ clientId: 'encrypting', clientSecret: 'secret', encryptionKey: await exportJWK(publicKey) }],
    });
    const base = await dev.start();
    try {
      const url = new URL(`${base}/authorize`);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: 'encrypting',
        redirect_uri: REDIRECT,
        scope: 'openid',
        login_hint: 'guest@example.com',
      }).toString();
      const { code } = await dev.login(url.href);
      const response = await fetch(`${base}/api/token`, {
        method: 'POST',
        headers: { authorization: basic('encrypting', 'secret'), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT }),
      });
      const { id_token } = (await response.json()) as { id_token: string };
      expect(id_token.split('.')).toHaveLength(5);
      expect(decodeProtectedHeader(id_token)).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256CBC-HS512' });
      const { plaintext } = await compactDecrypt(id_token, privateKey);
      expect(decodeJwt(new TextDecoder().decode(plaintext))).toMatchObject({ email: 'guest@example.com', aud: 'encrypting' });
    } finally {
      await dev.stop();
    }
  });

  it('starts and stops twice on port 0, leaving nothing open', async () => {
    for (let i = 0; i < 2; i++) {
      const dev = new FiefDevServer();
      const [base, same] = await Promise.all([dev.start(), dev.start()]);
      expect(same).toBe(base);
      dev.setFault('jwks', 'hang');
      const hanging = fetch(`${base}/.well-known/jwks.json`).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await dev.stop();
      await dev.stop();
      expect(String(await hanging)).toMatch(/fetch failed/);
      await expect(fetch(`${base}/.well-known/jwks.json`)).rejects.toThrow();
    }
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { FiefModule } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, createApp, GUEST, GuardedController, PassportController, tamper } from './fixtures.js';

const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };

describe.each(ADAPTERS)('FiefAuthGuard and AuthGuard("fief") on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: any;
  let anne: string;
  let guest: string;

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    app = await createApp(adapter, {
      // No JWKS refetch cooldown, so the unknown-key case reaches Fief (and finds it down).
      imports: [FiefModule.forRoot({ baseURL, ...CLIENT, jwksCooldown: 0 })],
      controllers: [GuardedController, PassportController],
    });
    server = app.getHttpServer();
    anne = await dev.issueAccessToken({ user: ANNE });
    guest = await dev.issueAccessToken({ user: GUEST });
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  afterEach(() => dev.setFault('all', null));

  const get = (path: string, token?: string) => {
    const req = request(server).get(path);
    return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
  };

  describe('401', () => {
    it('without a credential: challenge without error code, Nest error body', async () => {
      const res = await get('/guarded/plain');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="fief", scope="openid"');
      expect(res.body).toEqual({ statusCode: 401, message: expect.stringContaining('access token is required'), error: 'Unauthorized' });
    });

    it('with another scheme: same as no credential', async () => {
      const res = await request(server).get('/guarded/plain').set('Authorization', 'Basic dXNlcjpwYXNz');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="fief", scope="openid"');
    });

    it.each(['Bearer', `Bearer a b`, 'Bearer "x"'])('for the malformed header %j: invalid_request', async (header) => {
      const res = await request(server).get('/guarded/plain').set('Authorization', header);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="fief", error="invalid_request", error_description="[^"]+"$/);
    });

    it('for a token whose signature does not verify: invalid_token', async () => {
      const res = await get('/guarded/plain', tamper(anne));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="fief", error="invalid_token", error_description="[^"]+"$/);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('for an expired token: invalid_token', async () => {
      const expired = await dev.issueAccessToken({ user: ANNE, expiresIn: -3600 });
      const res = await get('/guarded/plain', expired);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it('for an ID token sent as an access token', async () => {
      const res = await get('/guarded/plain', await dev.issueIdToken({ user: ANNE }));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    });
  });

  it('400 invalid_request for a token in the query string, even with a header (RFC 6750 §2, RFC 9700)', async () => {
    const res = await get(`/guarded/plain?access_token=${anne}`, anne);
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toContain('error="invalid_request"');
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  describe('403 insufficient_scope', () => {
    it('for a missing permission, with the route scope', async () => {
      const res = await get('/guarded/create', guest);
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="fief", error="insufficient_scope", error_description="Missing required permission: castles:create", scope="openid"',
      );
      expect(res.body).toEqual({ statusCode: 403, message: 'Missing required permission: castles:create', error: 'Forbidden' });
    });

    it('for a missing scope: handler and class scopes both required', async () => {
      const res = await get('/guarded/scope', anne);
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expect(res.headers['www-authenticate']).toContain('scope="openid castles"');
      const withScope = await dev.issueAccessToken({ user: ANNE, scope: ['openid', 'castles'] });
      expect((await get('/guarded/scope', withScope)).status).toBe(200);
    });

    it('for an ACR below the route\'s', async () => {
      const res = await get('/guarded/acr', anne);
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expect(res.headers['www-authenticate']).toContain('acr_values="1"');
      expect((await get('/guarded/acr', await dev.issueAccessToken({ user: ANNE, acr: '1' }))).status).toBe(200);
    });
  });

  it('answers a token from the verified-token cache exactly as on its first use, route by route', async () => {
    const fresh = async () => dev.issueAccessToken({ user: GUEST, claims: { jti: randomUUID() } });
    const answer = (res: request.Response) => ({ status: res.status, challenge: res.headers['www-authenticate'], body: res.body });
    // First use: verified on the way in. Cache hit: the token was just admitted on another route.
    const firstUse = answer(await get('/guarded/create', await fresh()));
    const warm = await fresh();
    expect((await get('/guarded/read', warm)).status).toBe(200);
    expect(answer(await get('/guarded/create', warm))).toEqual(firstUse);
    expect(firstUse.status).toBe(403);
    expect(answer(await get('/guarded/acr', warm))).toEqual(answer(await get('/guarded/acr', await fresh())));
    const plain = await get('/guarded/plain', warm);
    expect(plain.body).toEqual({ id: dev.findUser(GUEST)!.id, permissions: ['castles:read'], sameToken: true });
  });

  it('200 with the token info and the raw token for a valid token', async () => {
    const res = await get('/guarded/plain', anne);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: dev.findUser(ANNE)!.id, permissions: ['castles:read', 'castles:create'], sameToken: true });
    expect((await get('/guarded/read', guest)).status).toBe(200);
  });

  describe('@CurrentUser', () => {
    it('loads the user from Fief once, then from the cache', async () => {
      const token = await dev.issueAccessToken({ user: ANNE, claims: { jti: 'current-user-cache' } });
      dev.resetRequestCounts();
      const first = await get('/guarded/me', token);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ email: ANNE, sub: dev.findUser(ANNE)!.id });
      expect((await get('/guarded/me', token)).body.email).toBe(ANNE);
      expect(dev.requestCounts.userinfo).toBe(1);
    });

    it('answers 503 with Retry-After when Fief cannot be reached, and never runs the handler', async () => {
      const token = await dev.issueAccessToken({ user: GUEST, claims: { jti: 'userinfo-down' } });
      dev.setFault('userinfo', 'down');
      const calls = GuardedController.calls;
      const res = await get('/guarded/me', token);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('10');
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(GuardedController.calls).toBe(calls);
    });

    it('makes no call to Fief for routes that do not use it', async () => {
      dev.resetRequestCounts();
      expect((await get('/guarded/plain', anne)).status).toBe(200);
      expect(dev.requestCounts.userinfo).toBe(0);
    });
  });

  it('503 for a token signed by an unknown key while Fief is down, never 401', async () => {
    await dev.rotateSigningKey();
    const unknownKey = await dev.issueAccessToken({ user: ANNE });
    dev.setFault('jwks', 'down');
    const res = await get('/guarded/plain', unknownKey);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('10');
  });

  describe('@Public', () => {
    it('lets anyone in, whatever they send', async () => {
      expect((await get('/guarded/public')).body).toEqual({ public: true });
      expect((await get('/guarded/public', 'garbage')).status).toBe(200);
    });
  });

  describe('@OptionalAuth', () => {
    it('is anonymous without a credential', async () => {
      expect((await get('/guarded/optional')).body).toEqual({ id: null });
      expect((await get('/guarded/optional-me')).body).toEqual({ email: null });
    });

    it('authenticates a good credential', async () => {
      expect((await get('/guarded/optional', anne)).body).toEqual({ id: dev.findUser(ANNE)!.id });
      expect((await get('/guarded/optional-me', anne)).body).toEqual({ email: ANNE });
    });

    it('refuses a bad credential instead of going anonymous', async () => {
      const res = await get('/guarded/optional', tamper(anne));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      expect((await get('/guarded/optional-me', await dev.issueAccessToken({ user: ANNE, permissions: [] }))).status).toBe(403);
    });
  });

  describe('AuthGuard("fief")', () => {
    it('gives the same 401s', async () => {
      const none = await get('/passport/plain');
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="fief"');
      expect(none.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      const bad = await get('/passport/plain', tamper(anne));
      expect(bad.status).toBe(401);
      expect(bad.headers['www-authenticate']).toContain('error="invalid_token"');
      const malformed = await request(server).get('/passport/plain').set('Authorization', 'Bearer a b');
      expect(malformed.status).toBe(401);
      expect(malformed.headers['www-authenticate']).toContain('error="invalid_request"');
    });

    it('gives the same 403s', async () => {
      const res = await get('/passport/create', guest);
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expect(res.body).toEqual({ statusCode: 403, message: 'Missing required permission: castles:create', error: 'Forbidden' });
      expect((await get('/passport/acr', anne)).headers['www-authenticate']).toContain('acr_values="1"');
    });

    it('lets valid tokens in, with @CurrentUser', async () => {
      expect((await get('/passport/plain', anne)).body).toEqual({ id: dev.findUser(ANNE)!.id });
      expect((await get('/passport/create', anne)).status).toBe(200);
      expect((await get('/passport/me', anne)).body).toEqual({ email: ANNE });
    });

    it('gives the same 503 when the user cannot be loaded', async () => {
      const token = await dev.issueAccessToken({ user: GUEST, claims: { jti: 'passport-userinfo-down' } });
      dev.setFault('userinfo', 'down');
      const calls = PassportController.calls;
      const res = await get('/passport/me', token);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('10');
      expect(PassportController.calls).toBe(calls);
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CurrentUser, Permissions } from '../../lib/auth/fief-auth.decorators.js';
import type { FiefUserInfo } from '../../lib/client/types.js';
import { FiefModule } from '../../lib/fief.module.js';
import { CookieSealer } from '../../lib/login/cookie-sealer.js';
import { LoginRedirect } from '../../lib/login/login-redirect.decorator.js';
import { FiefDevServer } from '../../lib/testing/fief-dev-server.js';
import { ANNE, GUEST, cookieHeader, jar, logIn, setCookies } from './login-test-helpers.js';

const SECRET = 'guard-cookie-secret-guard-cookie-secret-01';
const REDIRECT_URI = 'https://app.example/auth/callback';
const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };

@Controller()
class CastlesController {
  @Get('castles')
  @Permissions('castles:read')
  @LoginRedirect()
  page(@CurrentUser() user: FiefUserInfo) {
    return `castles for ${user.email}`;
  }

  @Get('castles/new')
  @Permissions('castles:create')
  @LoginRedirect()
  create() {
    return 'new castle form';
  }

  @Get('api/castles')
  @Permissions('castles:read')
  list() {
    return [{ name: 'Château des ducs de Bretagne' }];
  }
}

/** The session cookie through the real FiefAuthGuard, registered app-wide by FiefModule's `login` option. */
describe.each(['express', 'fastify'] as const)('FiefAuthGuard with the session cookie on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: Parameters<typeof request>[0];
  const sealer = new CookieSealer(SECRET, 'session');
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [
        FiefModule.forRoot({
          baseURL: dev.baseURL,
          ...CLIENT,
          globalGuard: true,
          login: { redirectUri: REDIRECT_URI, cookieSecret: SECRET },
        }),
      ],
      controllers: [CastlesController],
    }).compile();
    app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    await app.init();
    if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
    server = app.getHttpServer();
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  it('lets the auth routes through the global guard, and logs in', async () => {
    const { callback, cookies } = await logIn(server, dev, { returnTo: '/castles' });
    expect(callback.headers.location).toBe('/castles');
    expect(Object.keys(cookies).sort()).toEqual(['fief_login_next', 'fief_session']);
  });

  it('authenticates page requests with the session cookie, and enforces permissions on it', async () => {
    const anne = (await logIn(server, dev)).cookies;
    const page = await request(server).get('/castles').set('Cookie', cookieHeader(anne));
    expect([page.status, page.text]).toEqual([200, `castles for ${ANNE}`]);
    expect((await request(server).get('/castles/new').set('Cookie', cookieHeader(anne))).status).toBe(200);

    const guest = (await logIn(server, dev, { email: GUEST })).cookies;
    const forbidden = await request(server).get('/castles/new').set('Cookie', cookieHeader(guest)).set('Accept', 'text/html');
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
  });

  it('prefers a bearer header to a cookie of the same user, so API clients work in a logged-in browser too', async () => {
    const anne = (await logIn(server, dev, { email: ANNE })).cookies;
    const anneToken = await dev.issueAccessToken({ user: ANNE, claims: { jti: 'header-of-anne' } });
    const res = await request(server).get('/castles/new').set('Cookie', cookieHeader(anne)).set('Authorization', `Bearer ${anneToken}`);
    expect(res.status).toBe(200);
  });

  // Issue 10 §3: this was a 200 (the header silently won); two users in one request are now refused.
  it('refuses a bearer header and a session cookie of different users with 400 invalid_request', async () => {
    const guest = (await logIn(server, dev, { email: GUEST })).cookies;
    const anneToken = await dev.issueAccessToken({ user: ANNE });
    const res = await request(server).get('/castles/new').set('Cookie', cookieHeader(guest)).set('Authorization', `Bearer ${anneToken}`);
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  it('answers a logged-out page load with a redirect to login, and an API call with a 401 challenge', async () => {
    const page = await request(server).get('/castles').set('Accept', 'text/html');
    expect([page.status, page.headers.location]).toEqual([302, '/auth/login?returnTo=%2Fcastles']);
    const api = await request(server).get('/api/castles').set('Accept', 'application/json');
    expect(api.status).toBe(401);
    expect(api.headers['www-authenticate']).toMatch(/^Bearer realm="fief"/);
  });

  it('treats a tampered or foreign cookie as no credential, and clears it', async () => {
    const { cookies } = await logIn(server, dev);
    const foreign = new CookieSealer('some-other-app-secret-some-other-app-secret', 'session');
    for (const cookie of [
      `fief_session=${cookies.fief_session.slice(0, -6)}AAAAAA`,
      `fief_session=${await foreign.seal({ at: 'x', ate: now() + 60 }, now() + 60)}`,
    ]) {
      const res = await request(server).get('/api/castles').set('Cookie', cookie);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).not.toMatch(/error=/);
      expect(setCookies(res).find((c) => c.name === 'fief_session')?.maxAge).toBe(0);
    }
  });

  it('refreshes an expired session once for concurrent requests, re-setting the cookie', async () => {
    const { cookies } = await logIn(server, dev);
    const { at, rt, exp } = (await sealer.unseal(cookies.fief_session)) as Record<string, unknown>;
    const expired = `fief_session=${await sealer.seal({ at, ate: now() - 10, rt }, exp as number)}`;
    dev.resetRequestCounts();
    const answers = await Promise.all(Array.from({ length: 4 }, () => request(server).get('/api/castles').set('Cookie', expired)));
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    expect(dev.requestCounts.token).toBe(1);
    const renewed = (await sealer.unseal(jar(answers[0]).fief_session)) as Record<string, unknown>;
    expect(renewed.at).not.toBe(at);
    expect(renewed.ate as number).toBeGreaterThan(now());
  });

  it('ends a session whose refresh Fief refuses (401), and answers 503 while Fief is down', async () => {
    const { cookies } = await logIn(server, dev);
    const { at, exp } = (await sealer.unseal(cookies.fief_session)) as Record<string, unknown>;
    const refused = await request(server)
      .get('/api/castles')
      .set('Cookie', `fief_session=${await sealer.seal({ at, ate: now() - 10, rt: 'unknown-refresh-token' }, exp as number)}`);
    expect(refused.status).toBe(401);
    expect(setCookies(refused).find((c) => c.name === 'fief_session')?.maxAge).toBe(0);

    dev.setFault('token', 'down');
    try {
      const down = await request(server)
        .get('/api/castles')
        .set('Cookie', `fief_session=${await sealer.seal({ at, ate: now() - 10, rt: 'other-refresh-token' }, exp as number)}`);
      expect(down.status).toBe(503);
      expect(down.headers['retry-after']).toBeDefined();
    } finally {
      dev.setFault('token', null);
    }
  });
});

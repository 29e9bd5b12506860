import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, UnauthorizedException, UseGuards, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefClient } from '../../lib/client/fief-client.js';
import { CookieSealer } from '../../lib/login/cookie-sealer.js';
import { FiefLoginModule, type FiefLoginModuleOptions } from '../../lib/login/fief-login.module.js';
import { LoginRedirect } from '../../lib/login/login-redirect.decorator.js';
import { FiefSessionService } from '../../lib/login/session.service.js';
import { FiefDevServer } from '../../lib/testing/fief-dev-server.js';
import { ANNE, cookieHeader, jar, logIn as logInTo, setCookies, type Cookies } from './login-test-helpers.js';

const SECRET = 'e2e-cookie-secret-e2e-cookie-secret-0123';
const REDIRECT_URI = 'https://app.example/auth/callback';
type Adapter = 'express' | 'fastify';

/** A stand-in for `FiefAuthGuard`'s session path: the hook it calls, nothing else. */
@Injectable()
class SessionGuard implements CanActivate {
  constructor(private readonly sessions: FiefSessionService) {}
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const session = await this.sessions.authenticate(http.getRequest(), http.getResponse());
    if (!session) throw new UnauthorizedException('Log in first.');
    return true;
  }
}

@Controller('pages')
@UseGuards(SessionGuard)
class PagesController {
  @Get('castles')
  @LoginRedirect()
  castles() {
    return 'castles page';
  }

  @Get('api')
  api() {
    return { ok: true };
  }
}

describe.each<Adapter>(['express', 'fastify'])('browser login flow on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: Parameters<typeof request>[0];
  let sealer: CookieSealer;

  async function createApp(options: Partial<FiefLoginModuleOptions> = {}): Promise<INestApplication> {
    const client = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret', requestTimeout: 1000 });
    const moduleRef = await Test.createTestingModule({
      imports: [FiefLoginModule.forRoot({ client, redirectUri: REDIRECT_URI, cookieSecret: SECRET, ...options })],
      controllers: [PagesController],
      providers: [SessionGuard],
    }).compile();
    const created = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), {
      logger: false,
    });
    await created.init();
    if (adapter === 'fastify') await created.getHttpAdapter().getInstance().ready();
    return created;
  }

  const logIn = (returnTo?: string, email = ANNE) => logInTo(server, dev, { returnTo, email });

  beforeAll(async () => {
    dev = new FiefDevServer({
      clients: [{ clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret', redirectUris: [REDIRECT_URI] }],
    });
    await dev.start();
    app = await createApp();
    server = app.getHttpServer();
    sealer = new CookieSealer(SECRET, 'session');
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  describe('login', () => {
    it('redirects to Fief with state, S256 PKCE, nonce, the configured redirect URI and scopes', async () => {
      const res = await request(server).get('/auth/login').set('Host', 'evil.example').set('X-Forwarded-Host', 'evil.example');
      expect(res.status).toBe(302);
      expect(res.headers['cache-control']).toBe('no-store');
      const url = new URL(res.headers.location);
      expect(`${url.origin}${url.pathname}`).toBe(`${dev.baseURL}/authorize`);
      const params = url.searchParams;
      expect(params.get('response_type')).toBe('code');
      expect(params.get('client_id')).toBe('fief-dev-client');
      expect(params.get('redirect_uri')).toBe(REDIRECT_URI);
      expect(params.get('scope')?.split(' ').sort()).toEqual(['offline_access', 'openid']);
      expect(params.get('code_challenge_method')).toBe('S256');
      expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(params.get('nonce')).not.toBe(params.get('state'));
    });

    it('keeps the login secrets in a short-lived, encrypted, HttpOnly cookie sent to the callback only', async () => {
      const res = await request(server).get('/auth/login');
      const state = new URL(res.headers.location).searchParams.get('state') as string;
      const [cookie, next] = setCookies(res);
      expect(next).toMatchObject({ name: 'fief_login_next', value: '1', httpOnly: true, path: '/auth/login', maxAge: 600 });
      expect(cookie).toMatchObject({
        name: 'fief_login_0',
        httpOnly: true,
        secure: true,
        sameSite: 'lax',
        path: '/auth/callback',
        maxAge: 600,
      });
      expect(cookie.value).not.toContain(state);
    });

    it('keeps two logins in progress apart (two tabs)', async () => {
      const first = await request(server).get('/auth/login').query({ returnTo: '/first' });
      // The browser sends the first login's slot counter (Path=/auth/login) to the second.
      const second = await request(server)
        .get('/auth/login')
        .query({ returnTo: '/second' })
        .set('Cookie', `fief_login_next=${jar(first).fief_login_next}`);
      const both = cookieHeader({ ...jar(first), ...jar(second) });
      const fiefFirst = new URL((await dev.login(first.headers.location, { email: ANNE })).url);
      const fiefSecond = new URL((await dev.login(second.headers.location, { email: ANNE })).url);
      const doneSecond = await request(server).get(`/auth/callback${fiefSecond.search}`).set('Cookie', both);
      const doneFirst = await request(server).get(`/auth/callback${fiefFirst.search}`).set('Cookie', both);
      expect([doneFirst.status, doneFirst.headers.location]).toEqual([302, '/first']);
      expect([doneSecond.status, doneSecond.headers.location]).toEqual([302, '/second']);
    });
  });

  describe('callback', () => {
    it('logs in: session cookie set, transaction cookie cleared, back to returnTo, /auth/me answers the user', async () => {
      const { callback, cookies } = await logIn('/castles?page=2');
      expect(callback.status).toBe(302);
      expect(callback.headers.location).toBe('/castles?page=2');
      expect(callback.headers['cache-control']).toBe('no-store');
      const session = setCookies(callback).find((c) => c.name === 'fief_session');
      expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'lax', path: '/' });
      expect(session?.maxAge).toBeGreaterThan(0);
      const cleared = setCookies(callback).find((c) => c.name.startsWith('fief_login_'));
      expect(cleared).toMatchObject({ value: '', maxAge: 0, path: '/auth/callback' });
      // The slot counter is sent to the login route only.
      expect(Object.keys(cookies).sort()).toEqual(['fief_login_next', 'fief_session']);
      // No token in anything a page or its scripts could read.
      expect(JSON.stringify(callback.headers)).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);

      const me = await request(server).get('/auth/me').set('Cookie', cookieHeader(cookies));
      expect(me.status).toBe(200);
      expect(me.headers['cache-control']).toBe('no-store');
      expect(me.body).toMatchObject({ email: ANNE, sub: dev.findUser(ANNE)?.id, fields: { first_name: 'Anne' } });
    });

    it('keeps access and refresh tokens in the session cookie, under the 4 KB limit', async () => {
      const { cookies } = await logIn();
      const claims = await sealer.unseal(cookies.fief_session);
      expect(typeof claims?.at).toBe('string');
      expect(typeof claims?.rt).toBe('string');
      expect(`fief_session=${cookies.fief_session}`.length).toBeLessThan(4096);
    });

    it('answers 400 without a token request for each bad callback', async () => {
      const start = await request(server).get('/auth/login');
      const state = new URL(start.headers.location).searchParams.get('state') as string;
      const tx = cookieHeader(jar(start));
      const otherStart = await request(server).get('/auth/login');
      const otherState = new URL(otherStart.headers.location).searchParams.get('state') as string;
      const tamperedTx = Object.entries(jar(start))
        .map(([name, value]) => `${name}=${value.slice(0, -4)}AAAA`)
        .join('; ');
      dev.resetRequestCounts();

      const cases: Array<[string, string, string, RegExp]> = [
        ['no state', '/auth/callback?code=abc', tx, /no valid state/],
        ['a malformed state', '/auth/callback?code=abc&state=short', tx, /no valid state/],
        ['no transaction cookie', `/auth/callback?code=abc&state=${state}`, '', /No login is in progress/],
        ["another login's state", `/auth/callback?code=abc&state=${otherState}`, tx, /No login is in progress/],
        ['a tampered transaction cookie', `/auth/callback?code=abc&state=${state}`, tamperedTx, /No login is in progress/],
        ['a session cookie instead', `/auth/callback?code=abc&state=${state}`, `fief_login_0=${await sealer.seal({ s: state, v: 'v', n: 'n', r: '/' }, Math.floor(Date.now() / 1000) + 60)}`, /No login is in progress/],
        ["Fief's error answer", `/auth/callback?error=access_denied&error_description=User%20said%20no&state=${state}`, tx, /Fief did not log you in: access_denied \(User said no\)/],
        ['no code', `/auth/callback?state=${otherState}`, cookieHeader(jar(otherStart)), /has no authorization code/],
      ];
      for (const [label, path, cookie, message] of cases) {
        const res = await request(server).get(path).set('Cookie', cookie);
        expect([label, res.status]).toEqual([label, 400]);
        expect([label, res.body.message]).toEqual([label, expect.stringMatching(message)]);
      }
      expect(dev.requestCounts.token).toBe(0);
    });

    it('refuses a replayed callback with 400 and no second token request', async () => {
      const { start, callbackUrl, callback } = await logIn();
      expect(callback.status).toBe(302);
      dev.resetRequestCounts();
      const replay = await request(server).get(`/auth/callback${callbackUrl.search}`).set('Cookie', cookieHeader(jar(start)));
      expect(replay.status).toBe(400);
      expect(replay.body.message).toMatch(/already completed/);
      expect(dev.requestCounts.token).toBe(0);
    });

    it('answers 400 when Fief refuses the code, and 502 when Fief is unavailable', async () => {
      const start = await request(server).get('/auth/login');
      const state = new URL(start.headers.location).searchParams.get('state');
      const bogus = await request(server).get(`/auth/callback?code=not-a-real-code&state=${state}`).set('Cookie', cookieHeader(jar(start)));
      expect(bogus.status).toBe(400);
      expect(bogus.body.message).toMatch(/Fief refused the authorization code \(400: .*invalid_grant/);

      const again = await request(server).get('/auth/login');
      const fief = new URL((await dev.login(again.headers.location, { email: ANNE })).url);
      dev.setFault('token', 'down');
      try {
        const down = await request(server).get(`/auth/callback${fief.search}`).set('Cookie', cookieHeader(jar(again)));
        expect(down.status).toBe(502);
        expect(down.body.message).toMatch(/Fief is unavailable; could not exchange the authorization code/);
      } finally {
        dev.setFault('token', null);
      }
    });

    it.each([
      '//evil.com',
      'https://evil.com/steal',
      '/\\evil.com',
      '/%2F%2Fevil.com',
      'javascript:alert(document.cookie)',
      '/.//evil.com',
    ])('sends the browser home instead of to %j after login', async (returnTo) => {
      const { callback } = await logIn(returnTo);
      expect(callback.status).toBe(302);
      expect(callback.headers.location).toBe('/');
    });
  });

  describe('session', () => {
    let cookies: Cookies;
    beforeAll(async () => {
      ({ cookies } = await logIn());
    });

    const seal = async (claims: Record<string, unknown>, exp = Math.floor(Date.now() / 1000) + 3600) =>
      `fief_session=${await sealer.seal(claims, exp)}`;

    it('treats tampered, expired and foreign session cookies as logged out, and clears them', async () => {
      const claims = (await sealer.unseal(cookies.fief_session)) as Record<string, unknown>;
      const { at, ate, rt } = claims;
      const foreign = new CookieSealer('a-foreign-app-secret-a-foreign-app-secret', 'session');
      const transaction = new CookieSealer(SECRET, 'login-transaction');
      const bad = {
        tampered: `fief_session=${cookies.fief_session.slice(0, -6)}AAAAAA`,
        expired: await seal({ at, ate, rt }, Math.floor(Date.now() / 1000) - 1),
        foreign: `fief_session=${await foreign.seal({ at, ate, rt }, Math.floor(Date.now() / 1000) + 3600)}`,
        'transaction-keyed': `fief_session=${await transaction.seal({ at, ate, rt }, Math.floor(Date.now() / 1000) + 3600)}`,
        garbage: 'fief_session=%%%not-a-cookie',
      };
      for (const [label, cookie] of Object.entries(bad)) {
        const me = await request(server).get('/auth/me').set('Cookie', cookie);
        expect([label, me.status]).toEqual([label, 401]);
        expect([label, setCookies(me).find((c) => c.name === 'fief_session')?.maxAge]).toEqual([label, 0]);
      }
      expect((await request(server).get('/auth/me')).status).toBe(401);
    });

    it('refreshes an expired access token transparently, once for concurrent requests, and re-sets the cookie', async () => {
      const fresh = await logIn();
      const { at, rt, exp } = (await sealer.unseal(fresh.cookies.fief_session)) as Record<string, unknown>;
      const expired = await seal({ at, ate: Math.floor(Date.now() / 1000) - 10, rt }, exp as number);
      dev.resetRequestCounts();
      const answers = await Promise.all(Array.from({ length: 5 }, () => request(server).get('/auth/me').set('Cookie', expired)));
      expect(dev.requestCounts.token).toBe(1);
      for (const me of answers) {
        expect(me.status).toBe(200);
        expect(me.body.email).toBe(ANNE);
        const renewed = (await sealer.unseal(jar(me).fief_session)) as Record<string, unknown>;
        expect(renewed.at).not.toBe(at);
        expect(renewed.rt).not.toBe(rt);
        expect(renewed.ate as number).toBeGreaterThan(Date.now() / 1000);
        expect(renewed.exp).toBe(exp);
      }
    });

    it('ends the session when Fief refuses the refresh token, and answers 503 while Fief is down', async () => {
      const { at, exp } = (await sealer.unseal(cookies.fief_session)) as Record<string, unknown>;
      const stale = Math.floor(Date.now() / 1000) - 10;
      const refused = await request(server).get('/auth/me').set('Cookie', await seal({ at, ate: stale, rt: 'revoked-refresh-token' }, exp as number));
      expect(refused.status).toBe(401);
      expect(setCookies(refused).find((c) => c.name === 'fief_session')?.maxAge).toBe(0);

      dev.setFault('token', 'down');
      try {
        const down = await request(server).get('/auth/me').set('Cookie', await seal({ at, ate: stale, rt: 'another-refresh-token' }, exp as number));
        expect(down.status).toBe(503);
        expect(setCookies(down)).toEqual([]);
      } finally {
        dev.setFault('token', null);
      }
    });

    it('sends a logged-out browser loading a page to the login route and back, keeps 401 for API calls', async () => {
      const page = await request(server).get('/pages/castles?sort=name').set('Accept', 'text/html,application/xhtml+xml');
      expect(page.status).toBe(302);
      expect(page.headers.location).toBe('/auth/login?returnTo=%2Fpages%2Fcastles%3Fsort%3Dname');
      const json = await request(server).get('/pages/castles').set('Accept', 'application/json');
      expect(json.status).toBe(401);
      const api = await request(server).get('/pages/api').set('Accept', 'text/html');
      expect(api.status).toBe(401);
      const post = await request(server).post('/pages/castles').set('Accept', 'text/html');
      expect(post.status).toBe(404);

      const loggedIn = await request(server).get('/pages/castles').set('Accept', 'text/html').set('Cookie', cookieHeader(cookies));
      expect(loggedIn.status).toBe(200);
      expect(loggedIn.text).toBe('castles page');
    });
  });

  describe('logout', () => {
    it("clears the session and sends the browser to Fief's logout, which returns to the app", async () => {
      const { cookies } = await logIn();
      const res = await request(server).get('/auth/logout').set('Cookie', cookieHeader(cookies));
      expect(res.status).toBe(302);
      expect(res.headers['cache-control']).toBe('no-store');
      const url = new URL(res.headers.location);
      expect(`${url.origin}${url.pathname}`).toBe(`${dev.baseURL}/logout`);
      expect(url.searchParams.get('redirect_uri')).toBe('https://app.example/');
      expect(setCookies(res).find((c) => c.name === 'fief_session')).toMatchObject({ value: '', maxAge: 0, path: '/' });
      expect(Object.keys(jar(res, cookies))).toEqual(['fief_login_next']);

      const fiefLogout = await fetch(res.headers.location, { redirect: 'manual' });
      expect(fiefLogout.status).toBe(302);
      expect(fiefLogout.headers.get('location')).toBe('https://app.example/');
    });
  });

  describe('with the controller turned off', () => {
    it('serves no auth routes, while the session service still reads sessions', async () => {
      const { cookies } = await logIn();
      const off = await createApp({ controller: false });
      try {
        for (const path of ['/auth/login', '/auth/callback', '/auth/logout', '/auth/me']) {
          expect([path, (await request(off.getHttpServer()).get(path)).status]).toEqual([path, 404]);
        }
        const page = await request(off.getHttpServer()).get('/pages/castles').set('Cookie', cookieHeader(cookies));
        expect(page.status).toBe(200);
      } finally {
        await off.close();
      }
    });
  });

  it('serves the routes under a custom prefix, with matching cookie path and login redirect', async () => {
    const custom = await createApp({ path: 'account', redirectUri: 'https://app.example/account/callback' });
    try {
      const start = await request(custom.getHttpServer()).get('/account/login');
      expect(start.status).toBe(302);
      expect(setCookies(start)[0].path).toBe('/account/callback');
      const page = await request(custom.getHttpServer()).get('/pages/castles').set('Accept', 'text/html');
      expect(page.headers.location).toBe('/account/login?returnTo=%2Fpages%2Fcastles');
    } finally {
      await custom.close();
    }
  });
});

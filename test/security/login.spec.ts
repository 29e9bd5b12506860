/**
 * The browser login flow under attack: forged or replayed callbacks, PKCE downgrade, nonce
 * substitution, open redirects, and session cookies that are tampered, expired, foreign or
 * oversized. None may yield a session or run a guarded handler.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FiefModule } from '../../lib/index.js';
import { CookieSealer } from '../../lib/login/cookie-sealer.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, CLIENT, expectRefused, handlerCalls, startApp, TargetController } from './security-fixtures.js';

const SECRET = 'security-suite-cookie-secret-0123456789abcdef';
const REDIRECT_URI = 'https://app.example/auth/callback';
const APP_ORIGIN = 'https://app.example';

type Jar = Record<string, string>;

/** Cookies a browser would hold after `res`, on top of `previous`. */
function jar(res: Response, previous: Jar = {}): Jar {
  const next = { ...previous };
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';');
    const name = pair.slice(0, pair.indexOf('='));
    const value = pair.slice(pair.indexOf('=') + 1);
    const cleared = value === '' || attributes.some((a) => /^\s*max-age=0$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
    if (cleared) delete next[name];
    else next[name] = value;
  }
  return next;
}

const cookieHeader = (cookies: Jar) =>
  Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');

describe.each(ADAPTERS)('login flow and session cookies on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;
  let sealer: CookieSealer;

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    const baseURL = await dev.start();
    ({ app, url } = await startApp(adapter, {
      imports: [FiefModule.forRoot({ baseURL, ...CLIENT, requestTimeout: 2000, login: { redirectUri: REDIRECT_URI, cookieSecret: SECRET } })],
      controllers: [TargetController],
    }));
    sealer = new CookieSealer(SECRET, 'session');
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const get = (path: string, cookies: Jar | string = {}, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      redirect: 'manual',
      headers: { cookie: typeof cookies === 'string' ? cookies : cookieHeader(cookies), ...headers },
    });

  /** Starts a login; the authorize URL and the transaction cookie. */
  async function start(returnTo?: string) {
    const res = await get(`/auth/login${returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`}`);
    expect(res.status).toBe(302);
    const authorize = new URL(res.headers.get('location')!);
    return { authorize, cookies: jar(res), state: authorize.searchParams.get('state')! };
  }

  /** Logs in at Fief with a possibly altered authorize URL; the callback path and query Fief sends back. */
  async function fiefLogin(authorize: URL): Promise<{ callback: string; code?: string }> {
    const result = await dev.login(authorize.href, { email: ANNE });
    const back = new URL(result.url);
    return { callback: `${back.pathname}${back.search}`, code: back.searchParams.get('code') ?? undefined };
  }

  async function logIn(returnTo?: string) {
    const started = await start(returnTo);
    const { callback } = await fiefLogin(started.authorize);
    const res = await get(callback, started.cookies);
    return { res, started, callback, cookies: jar(res, started.cookies) };
  }

  /** The callback answered 400 and set no session. */
  async function expectNoSession(res: Response, message?: RegExp) {
    const body = (await res.json()) as { message: string };
    expect({ status: res.status, message: body.message }).toEqual({ status: 400, message: message ? expect.stringMatching(message) : expect.any(String) });
    expect(jar(res).fief_session).toBeUndefined();
  }

  it('logs in and lets the session cookie through the guard (control case)', async () => {
    const { res, cookies } = await logIn();
    expect(res.status).toBe(302);
    expect(cookies.fief_session).toEqual(expect.any(String));
    const before = handlerCalls.plain;
    expect((await get('/target/plain', cookies)).status).toBe(200);
    expect(handlerCalls.plain).toBe(before + 1);
  });

  describe('bad callbacks: 400, no token request, no session', () => {
    it.each([
      ['no state', () => '/auth/callback?code=abc'],
      ['an empty state', () => '/auth/callback?code=abc&state='],
      ['a malformed state', () => '/auth/callback?code=abc&state=%00%01'],
      ['two states', (s: string) => `/auth/callback?code=abc&state=${s}&state=${s}`],
      ['a state of another login', () => 'OTHER'],
      ['an array-shaped state', (s: string) => `/auth/callback?code=abc&state[]=${s}`],
      ["Fief's error answer", (s: string) => `/auth/callback?error=access_denied&state=${s}`],
      ['no code', (s: string) => `/auth/callback?state=${s}`],
      ['an empty code', (s: string) => `/auth/callback?code=&state=${s}`],
      ['two codes', (s: string) => `/auth/callback?code=a&code=b&state=${s}`],
    ])('%s', async (_label, path) => {
      const mine = await start();
      const other = await start();
      const target = path(mine.state) === 'OTHER' ? `/auth/callback?code=abc&state=${other.state}` : path(mine.state);
      dev.resetRequestCounts();
      await expectNoSession(await get(target, mine.cookies));
      expect(dev.requestCounts.token).toBe(0);
    });

    it('without, with a tampered and with a foreign transaction cookie', async () => {
      const mine = await start();
      const [name, value] = Object.entries(mine.cookies)[0];
      const foreign = new CookieSealer('another-app-cookie-secret-0123456789abcdef', 'login-transaction');
      const claims = await new CookieSealer(SECRET, 'login-transaction').unseal(value);
      expect(claims).toBeDefined();
      const { callback } = await fiefLogin(mine.authorize);
      dev.resetRequestCounts();
      for (const cookie of [
        '',
        `${name}=${value.slice(0, 20)}${value[20] === 'A' ? 'B' : 'A'}${value.slice(21)}`,
        `${name}=${await foreign.seal(claims!, Math.floor(Date.now() / 1000) + 600)}`,
        `${name}=${await sealer.seal(claims!, Math.floor(Date.now() / 1000) + 600)}`,
        `${name}=${await new CookieSealer(SECRET, 'login-transaction').seal(claims!, Math.floor(Date.now() / 1000) - 1)}`,
      ]) {
        await expectNoSession(await get(callback, cookie));
      }
      expect(dev.requestCounts.token).toBe(0);
    });
  });

  describe('code replay and injection', () => {
    it('the same callback twice: the second is refused without a token request', async () => {
      const { res, started, callback } = await logIn();
      expect(res.status).toBe(302);
      dev.resetRequestCounts();
      await expectNoSession(await get(callback, started.cookies));
      expect(dev.requestCounts.token).toBe(0);
    });

    it("a used code under a fresh login's state (replay with a new transaction)", async () => {
      const { res, callback } = await logIn();
      expect(res.status).toBe(302);
      const code = new URL(callback, APP_ORIGIN).searchParams.get('code')!;
      const fresh = await start();
      await expectNoSession(await get(`/auth/callback?code=${code}&state=${fresh.state}`, fresh.cookies));
    });

    it("a victim's unused code injected into the attacker's login (PKCE binds the code to its verifier)", async () => {
      const victim = await start();
      const { code } = await fiefLogin(victim.authorize);
      const attacker = await start();
      await expectNoSession(await get(`/auth/callback?code=${code}&state=${attacker.state}`, attacker.cookies));
    });
  });

  describe('PKCE downgrade and nonce substitution', () => {
    it('the code challenge stripped from the authorize URL', async () => {
      const started = await start();
      started.authorize.searchParams.delete('code_challenge');
      started.authorize.searchParams.delete('code_challenge_method');
      const { callback } = await fiefLogin(started.authorize);
      await expectNoSession(await get(callback, started.cookies));
    });

    it('the method downgraded to plain with a challenge the attacker knows', async () => {
      const started = await start();
      started.authorize.searchParams.set('code_challenge', 'a'.repeat(43));
      started.authorize.searchParams.set('code_challenge_method', 'plain');
      const { callback } = await fiefLogin(started.authorize);
      await expectNoSession(await get(callback, started.cookies));
    });

    it('the nonce replaced in the authorize URL, and removed', async () => {
      for (const change of [(u: URL) => u.searchParams.set('nonce', 'attacker-nonce-0123456789'), (u: URL) => u.searchParams.delete('nonce')]) {
        const started = await start();
        change(started.authorize);
        const { callback } = await fiefLogin(started.authorize);
        await expectNoSession(await get(callback, started.cookies), /nonce/);
      }
    });
  });

  describe('open redirects: the browser stays on the app', () => {
    it.each([
      '//evil.example',
      '///evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/\t/evil.example',
      'https://evil.example/',
      'https:evil.example',
      'HTTPS://evil.example',
      '//app.example@evil.example',
      '/%2F%2Fevil.example',
      '/%5Cevil.example',
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      ' //evil.example',
      '/./\\evil.example',
    ])('%j', async (returnTo) => {
      const { res } = await logIn(returnTo);
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location).toMatch(/^\/(?![/\\])/);
      expect(new URL(location, APP_ORIGIN).origin).toBe(APP_ORIGIN);
    });
  });

  describe('session cookies: a bad one counts as no credential (401, no error code)', () => {
    let session: string;
    let claims: Record<string, unknown>;

    beforeAll(async () => {
      session = (await logIn()).cookies.fief_session;
      claims = (await sealer.unseal(session)) as Record<string, unknown>;
    });

    const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

    it.each([
      ['tampered (one character)', async () => `${session.slice(0, 30)}${session[30] === 'A' ? 'B' : 'A'}${session.slice(31)}`],
      ['truncated', async () => session.slice(0, -10)],
      ['expired', async () => sealer.seal(claims, inSeconds(-1))],
      ['sealed with another secret', async () => new CookieSealer('another-app-cookie-secret-0123456789abcdef', 'session').seal(claims, inSeconds(600))],
      ['sealed for the login transaction', async () => new CookieSealer(SECRET, 'login-transaction').seal(claims, inSeconds(600))],
      ['oversized (12 KB)', async () => 'A'.repeat(12 * 1024)],
      ['garbage', async () => '%%%not-a-cookie'],
      ['a raw access token', async () => claims.at as string],
    ])('%s', async (label, make) => {
      const value = await make();
      const res = await expectRefused(() => get('/target/plain', `fief_session=${value}`), 401, null);
      expect([label, res.headers.get('www-authenticate')]).toEqual([label, 'Bearer realm="fief"']);
    });

    it('a session holding a forged access token is refused by the guard as invalid_token', async () => {
      const forged = await sealer.seal({ ...claims, at: 'eyJhbGciOiJub25lIiwia2lkIjoieCJ9.eyJzdWIiOiJ4In0.' }, inSeconds(600));
      await expectRefused(() => get('/target/plain', `fief_session=${forged}`), 401, 'invalid_token');
    });

    it('a good session cookie does not rescue a bad bearer header: the header wins', async () => {
      await expectRefused(() => get('/target/plain', `fief_session=${session}`, { authorization: 'Bearer not.a.token' }), 401, 'invalid_token');
    });

    it('cookie secret rotation: [new, old] still opens old sessions, the new secret alone opens new ones and ends old ones', async () => {
      const NEW_SECRET = 'rotated-cookie-secret-rotated-cookie-secret-42';
      const rotatedApp = (cookieSecret: string | string[]) =>
        startApp(adapter, {
          imports: [FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, login: { redirectUri: REDIRECT_URI, cookieSecret } })],
          controllers: [TargetController],
        });
      const both = await rotatedApp([NEW_SECRET, SECRET]);
      const onlyNew = await rotatedApp(NEW_SECRET);
      try {
        const before = handlerCalls.plain;
        expect((await fetch(`${both.url}/target/plain`, { headers: { cookie: `fief_session=${session}` } })).status).toBe(200);
        expect(handlerCalls.plain).toBe(before + 1);
        const resealed = await new CookieSealer(NEW_SECRET, 'session').seal(claims, inSeconds(600));
        expect((await fetch(`${onlyNew.url}/target/plain`, { headers: { cookie: `fief_session=${resealed}` } })).status).toBe(200);
        await expectRefused(() => fetch(`${onlyNew.url}/target/plain`, { headers: { cookie: `fief_session=${session}` } }), 401, null);
      } finally {
        await both.app.close();
        await onlyNew.app.close();
      }
    });

    it('an expired access token while Fief cannot refresh it: 503 + Retry-After, the session is kept', async () => {
      expect(claims.rt).toEqual(expect.any(String));
      const stale = await sealer.seal({ ...claims, ate: inSeconds(-60) }, inSeconds(600));
      dev.setFault('token', 'down');
      try {
        const res = await expectRefused(() => get('/target/plain', `fief_session=${stale}`), 503, null);
        expect(res.headers.getSetCookie().filter((line) => line.startsWith('fief_session='))).toEqual([]);
      } finally {
        dev.setFault('token', null);
      }
    });

    it('an expired access token whose refresh token Fief refuses: no credential (401), the cookie is cleared', async () => {
      const refused = await sealer.seal({ ...claims, ate: inSeconds(-60), rt: 'a-refresh-token-fief-never-issued' }, inSeconds(600));
      const res = await expectRefused(() => get('/target/plain', `fief_session=${refused}`), 401, null);
      expect(res.headers.getSetCookie().some((line) => /^fief_session=;/.test(line) || (/^fief_session=/.test(line) && /max-age=0/i.test(line)))).toBe(true);
    });

    it('a __Host- session cookie name (advised against cookie tossing) meets the prefix rules and only it is read', async () => {
      const hosted = await startApp(adapter, {
        imports: [
          FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, login: { redirectUri: REDIRECT_URI, cookieSecret: SECRET, sessionCookieName: '__Host-fief_session' } }),
        ],
        controllers: [TargetController],
      });
      try {
        const started = await fetch(`${hosted.url}/auth/login`, { redirect: 'manual' });
        const back = new URL((await dev.login(started.headers.get('location')!, { email: ANNE })).url);
        const callback = await fetch(`${hosted.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie: cookieHeader(jar(started)) } });
        const line = callback.headers.getSetCookie().find((cookie) => cookie.startsWith('__Host-fief_session='))!;
        // What browsers require of __Host- cookies, or they drop them: Secure, Path=/, no Domain.
        expect(line).toMatch(/; Secure/i);
        expect(line).toMatch(/; Path=\/(;|$)/i);
        expect(line).not.toMatch(/; Domain=/i);
        const value = jar(callback)['__Host-fief_session'];
        const before = handlerCalls.plain;
        expect((await fetch(`${hosted.url}/target/plain`, { headers: { cookie: `__Host-fief_session=${value}` } })).status).toBe(200);
        expect(handlerCalls.plain).toBe(before + 1);
        // A cookie under the unprefixed name (what a sibling subdomain could set) is not a credential.
        await expectRefused(() => fetch(`${hosted.url}/target/plain`, { headers: { cookie: `fief_session=${value}` } }), 401, null);
      } finally {
        await hosted.app.close();
      }
    });

    it('the same session cookie still passes (control case)', async () => {
      const before = handlerCalls.plain;
      expect((await get('/target/plain', `fief_session=${session}`)).status).toBe(200);
      expect(handlerCalls.plain).toBe(before + 1);
    });
  });
});

/**
 * The login routes under hostile sizes and counts: any `returnTo` (kilobytes of quotes, non-ASCII,
 * control characters, invalid UTF-8) answers 302 or 400 with a cookie under 4 KB; a non-ASCII
 * `returnTo` comes back percent-encoded on both adapters, checked before the code is spent; and a
 * browser that starts dozens of logins it never finishes can still log in.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { FiefModule } from '../../lib/index.js';
import { CookieSealer } from '../../lib/login/cookie-sealer.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, CLIENT, startApp } from './security-fixtures.js';

const SECRET = 'login-limits-cookie-secret-0123456789abcdef';
const REDIRECT_URI = 'https://app.example/auth/callback';
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 120);

/** A browser's cookie jar, paths included: a cookie goes only to the paths under its `Path`. */
class BrowserJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  take(res: Response): this {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
      const cleared = value === '' || attributes.some((a) => /^max-age=0$/i.test(a));
      if (cleared) this.cookies.delete(`${name};${path}`);
      else this.cookies.set(`${name};${path}`, { value, path });
    }
    return this;
  }

  /** The `Cookie` header a browser sends to `path`. */
  header(path: string): string {
    return [...this.cookies]
      .filter(([, { path: scope }]) => path === scope || path.startsWith(scope.endsWith('/') ? scope : `${scope}/`))
      .map(([key, { value }]) => `${key.slice(0, key.indexOf(';'))}=${value}`)
      .join('; ');
  }

  names(): string[] {
    return [...this.cookies.keys()].map((key) => key.slice(0, key.indexOf(';')));
  }
}

/** Every byte percent-encoded: what reaches the server is exactly these bytes, valid UTF-8 or not. */
const percentEncode = (bytes: Uint8Array): string => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

describe.each(ADAPTERS)('login limits on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    const baseURL = await dev.start();
    ({ app, url } = await startApp(adapter, {
      imports: [FiefModule.forRoot({ baseURL, ...CLIENT, requestTimeout: 2000, login: { redirectUri: REDIRECT_URI, cookieSecret: SECRET } })],
    }));
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const get = (path: string, cookie = '') => fetch(`${url}${path}`, { redirect: 'manual', headers: { cookie } });

  /** `/auth/login` with `query` as the raw query string; checks the answer and every cookie's size. */
  async function startWithQuery(query: string, jar = new BrowserJar()) {
    const res = await get(`/auth/login?${query}`, jar.header('/auth/login'));
    const body = await res.text();
    expect({ status: [302, 400].includes(res.status) ? 'ok' : res.status, body: res.status >= 500 ? body : '' }).toEqual({ status: 'ok', body: '' });
    for (const line of res.headers.getSetCookie()) {
      expect(Buffer.byteLength(line.split(';')[0])).toBeLessThan(4096);
    }
    jar.take(res);
    return { res, jar };
  }

  /** Logs in at Fief for the authorize URL of `res`; the callback path and query Fief sends back. */
  async function fiefCallback(res: Response): Promise<string> {
    const back = new URL((await dev.login(res.headers.get('location')!, { email: ANNE })).url);
    return `${back.pathname}${back.search}`;
  }

  describe('any returnTo: 302 or 400, never 500, cookies under 4 KB', () => {
    it.each([
      ['2 KB of quotes', `/${'"'.repeat(2000)}`],
      ['2 KB of é', `/${'é'.repeat(2000)}`],
      ['1 KB of emoji', `/${'🏰'.repeat(1024)}`],
      ['control characters', `/x${'\u0001\u0007\u001b'.repeat(300)}`],
      ['a query of quotes', `/castles?q=${'"'.repeat(1500)}`],
      ['a fragment of angle brackets', `/castles#${'<>'.repeat(700)}`],
    ])('%s', async (_label, returnTo) => {
      const { res } = await startWithQuery(`returnTo=${encodeURIComponent(returnTo)}`);
      expect(res.status).toBe(302);
    });

    it('invalid UTF-8 and lone surrogates', async () => {
      for (const raw of ['%2F%E9%E9%E9', '%2F%ED%A0%80', `%2F${'%FF'.repeat(1000)}`, '%2F%C0%AF%C0%AFevil.example']) {
        const { res } = await startWithQuery(`returnTo=${raw}`);
        expect(res.status).toBe(302);
      }
    });

    it('any string, any bytes (property)', async () => {
      const value = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 1200 }).map((s) => percentEncode(Buffer.from(`/${s}`))),
        fc.string({ unit: fc.constantFrom('"', 'é', '\u0000', '%', '\\', '/', '🏰', '<', ' ', '\u2028'), maxLength: 1500 }).map((s) =>
          percentEncode(Buffer.from(`/${s}`)),
        ),
        fc.uint8Array({ maxLength: 1200 }).map(percentEncode),
      );
      await fc.assert(
        fc.asyncProperty(value, async (query) => {
          await startWithQuery(`returnTo=${query}`);
        }),
        { numRuns: FUZZ_RUNS },
      );
    }, 120_000);
  });

  describe('a non-ASCII returnTo', () => {
    it('comes back percent-encoded after a real login, and the user is logged in', async () => {
      const returnTo = `/châteaux/${'é'.repeat(100)}?q="fort la latte"#top`;
      const { res, jar } = await startWithQuery(`returnTo=${encodeURIComponent(returnTo)}`);
      const callback = await fiefCallback(res);
      const done = await get(callback, jar.header('/auth/callback'));
      expect(done.status).toBe(302);
      const location = done.headers.get('location')!;
      expect(location).toMatch(/^\/[\x21-\x7e]+$/);
      expect(decodeURIComponent(location)).toBe(returnTo);
      expect(jar.take(done).names()).toContain('fief_session');
    });

    it("from a transaction cookie the adapter could not send is checked before Fief's code is spent", async () => {
      const { res, jar } = await startWithQuery('');
      const sealer = new CookieSealer(SECRET, 'login-transaction');
      const [name, value] = jar.header('/auth/callback').split('; ')[0].split('=');
      const claims = (await sealer.unseal(value))!;
      const forged = await sealer.seal({ ...claims, r: '/ch\u00e2teau\u2028' }, Math.floor(Date.now() / 1000) + 600);
      const callback = await fiefCallback(res);
      dev.resetRequestCounts();
      const done = await get(callback, `${name}=${forged}`);
      expect(done.status).toBe(302);
      expect(done.headers.get('location')).toBe('/ch%C3%A2teau%E2%80%A8');
      expect(dev.requestCounts.token).toBe(1);
    });
  });

  describe('logins in flight per browser are bounded', () => {
    it('40 unfinished logins: the browser still logs in, with 5 transaction cookies at most', async () => {
      const jar = new BrowserJar();
      const started: Response[] = [];
      for (let i = 0; i < 40; i++) {
        const { res } = await startWithQuery(`returnTo=${encodeURIComponent(`/tab/${i}/${'x'.repeat(200)}`)}`, jar);
        expect(res.status).toBe(302);
        started.push(res);
      }
      const transactionCookies = jar.names().filter((name) => /^fief_login_\d+$/.test(name));
      expect(transactionCookies.length).toBeLessThanOrEqual(5);
      expect(Buffer.byteLength(jar.header('/auth/callback'))).toBeLessThan(12 * 1024);

      // The newest login finishes, then another of the five most recent ones.
      for (const index of [39, 36]) {
        const done = await get(await fiefCallback(started[index]), jar.header('/auth/callback'));
        expect([done.status, done.headers.get('location')]).toEqual([302, `/tab/${index}/${'x'.repeat(200)}`]);
        jar.take(done);
      }
      // The oldest was evicted: a clear 400 to start again, not a 431.
      const evicted = await get(await fiefCallback(started[0]), jar.header('/auth/callback'));
      expect(evicted.status).toBe(400);
      expect(((await evicted.json()) as { message: string }).message).toMatch(/Start the login again/);
    }, 60_000);

    it('a hostile slot counter is ignored', async () => {
      for (const counter of ['-1', '99', '1e3', 'x', '0x1']) {
        const res = await get('/auth/login', `fief_login_next=${counter}`);
        expect(res.status).toBe(302);
        const names = res.headers.getSetCookie().map((line) => line.slice(0, line.indexOf('=')));
        expect(names).toEqual(['fief_login_0', 'fief_login_next']);
      }
    });
  });

  describe('tokens too large for a cookie', () => {
    let bigDev: FiefDevServer;
    let bigApp: INestApplication;
    let bigUrl: string;

    beforeAll(async () => {
      const permissions = Array.from({ length: 120 }, (_, i) => `castles:permission-with-a-long-name-${i}`);
      bigDev = new FiefDevServer({
        users: [{ email: 'many@example.com', permissions }],
        clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }],
      });
      const baseURL = await bigDev.start();
      ({ app: bigApp, url: bigUrl } = await startApp(adapter, {
        imports: [FiefModule.forRoot({ baseURL, ...CLIENT, login: { redirectUri: REDIRECT_URI, cookieSecret: SECRET } })],
      }));
    });
    afterAll(async () => {
      await bigApp?.close();
      await bigDev?.stop();
    });

    it('a session that cannot fit a cookie is a 502 that says why, not a 500', async () => {
      const start = await fetch(`${bigUrl}/auth/login`, { redirect: 'manual' });
      const jar = new BrowserJar().take(start);
      const back = new URL((await bigDev.login(start.headers.get('location')!, { email: 'many@example.com' })).url);
      const done = await fetch(`${bigUrl}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie: jar.header('/auth/callback') } });
      expect(done.status).toBe(502);
      expect(((await done.json()) as { message: string }).message).toMatch(/over the browser limit of 4096/);
    });
  });
});

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { storeCookies } from './fief-test-agent.js';
import type { FiefDevTenant } from './fief-dev-tenant.js';

/** Where the app under test is: its base URL, its Node HTTP server, or the Nest application. */
export type FiefTestTarget = string | Server | { getHttpServer(): unknown };

/** Options of {@link finishAppLogin}. */
export interface FiefAppLoginOptions {
  /** The user who logs in at Fief. */
  email: string;
  /** The app's login route. @default '/auth/login' */
  loginPath?: string;
  /** Sent to the login route as `returnTo`. */
  returnTo?: string;
  /** Name of the app's session cookie (`login.sessionCookieName`). @default 'fief_session' */
  sessionCookieName?: string;
}

/** What a browser holds after logging in to the app. */
export interface FiefAppLoginResult {
  /** Every cookie the browser holds for the app after the callback, by name. */
  cookies: Record<string, string>;
  /** The same cookies as a `Cookie` request header, e.g. for supertest's `.set('Cookie', …)`. */
  cookieHeader: string;
  /** The value of the session cookie. */
  sessionCookie: string;
  /** Where the app's callback sent the browser (the `returnTo`). */
  location: string | null;
}

/**
 * Logs a user in to the app under test as a browser would, over real HTTP: the app's login route
 * (its transaction cookie kept), Fief's login at the dev server as `email`, then the app's callback
 * with that cookie. Resolves with the session cookie; rejects with what went wrong at the step that
 * failed. An HTTP server that is not listening is listened on a loopback port for the duration.
 *
 * @example
 * const { cookieHeader } = await finishAppLogin(app, fief, { email: 'anne@bretagne.duchy' });
 * await request(app.getHttpServer()).get('/auth/me').set('Cookie', cookieHeader).expect(200);
 */
export async function finishAppLogin(target: FiefTestTarget, fief: FiefDevTenant, options: FiefAppLoginOptions): Promise<FiefAppLoginResult> {
  const { email, loginPath = '/auth/login', returnTo, sessionCookieName = 'fief_session' } = options;
  return withBaseURL(target, async (base) => {
    const jar = new Map<string, string>();
    const visit = async (path: string) => {
      const response = await fetch(new URL(path, base), {
        redirect: 'manual',
        headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
      });
      storeCookies(jar, response.headers.getSetCookie());
      return response;
    };
    const start = await visit(returnTo === undefined ? loginPath : `${loginPath}?${new URLSearchParams({ returnTo })}`);
    const authorize = start.headers.get('location');
    if (start.status !== 302 || !authorize) {
      throw new Error(`finishAppLogin: ${loginPath} answered ${start.status} without a redirect to Fief: ${(await start.text()).slice(0, 300)}`);
    }
    const back = await fief.login(new URL(authorize, base).href, { email });
    if (!back.ok) throw new Error(`finishAppLogin: Fief refused the login of ${email}: ${back.error} ${back.error_description ?? ''}`.trim());
    const callbackUrl = new URL(back.url);
    const callback = await visit(`${callbackUrl.pathname}${callbackUrl.search}`);
    const sessionCookie = jar.get(sessionCookieName);
    if (!sessionCookie) {
      throw new Error(
        `finishAppLogin: ${callbackUrl.pathname} answered ${callback.status} without setting ${sessionCookieName}: ${(await callback.text()).slice(0, 300)}`,
      );
    }
    const cookies = Object.fromEntries(jar);
    const cookieHeader = Object.entries(cookies).map(([name, value]) => `${name}=${value}`).join('; ');
    return { cookies, cookieHeader, sessionCookie, location: callback.headers.get('location') };
  });
}

/** Runs `use` with the target's base URL, listening an idle server on a loopback port meanwhile. */
export async function withBaseURL<T>(target: FiefTestTarget, use: (base: string) => Promise<T>): Promise<T> {
  if (typeof target === 'string') return use(target);
  const server = (typeof (target as { getHttpServer?: unknown }).getHttpServer === 'function'
    ? (target as { getHttpServer(): unknown }).getHttpServer()
    : target) as Server;
  if (server.listening) return use(baseOf(server));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    return await use(baseOf(server));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function baseOf(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.address === '::' || address.address === '0.0.0.0' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** Cookie-jar helpers shared by the login e2e specs: supertest does not keep cookies, so the specs carry them by hand. */
import { expect } from '@jest/globals';
import { parseSetCookie, type SetCookie } from 'cookie';
import request from 'supertest';
import type { FiefDevLoginResult, FiefDevServer } from '../../lib/testing/fief-dev-server.js';

export const ANNE = 'anne@bretagne.duchy';
export const GUEST = 'guest@example.com';

/** Cookies by name, as a browser's jar would hold them for the app. */
export interface Cookies {
  [name: string]: string;
}

/** The `Set-Cookie` headers of a response, parsed. */
export function setCookies(res: request.Response): SetCookie[] {
  const header = res.headers['set-cookie'] as unknown as string[] | string | undefined;
  return ([] as string[]).concat(header ?? []).map((line) => parseSetCookie(line));
}

/** What a browser's jar would hold after `res`: set cookies added, cleared ones removed. */
export function jar(res: request.Response, previous: Cookies = {}): Cookies {
  const next = { ...previous };
  for (const cookie of setCookies(res)) {
    if (cookie.value && cookie.maxAge !== 0) next[cookie.name] = cookie.value as string;
    else delete next[cookie.name];
  }
  return next;
}

/** A `Cookie` request header for `cookies`. */
export const cookieHeader = (cookies: Cookies): string =>
  Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');

/** Each step of {@link logIn}, and the cookies a browser would hold at the end. */
export interface LogInResult {
  start: request.Response;
  fief: FiefDevLoginResult;
  callbackUrl: URL;
  callback: request.Response;
  cookies: Cookies;
}

/**
 * The whole flow against `server`: its login route, Fief's login as `email` (headless, over real
 * HTTP), its callback. Returns each step and the cookies a browser would then hold.
 */
export async function logIn(
  server: Parameters<typeof request>[0],
  dev: FiefDevServer,
  options: { returnTo?: string; email?: string; loginPath?: string } = {},
): Promise<LogInResult> {
  const { returnTo, email = ANNE, loginPath = '/auth/login' } = options;
  const start = await request(server).get(loginPath).query(returnTo === undefined ? {} : { returnTo });
  expect(start.status).toBe(302);
  const fief = await dev.login(start.headers.location, { email });
  expect(fief.code).toBeDefined();
  const callbackUrl = new URL(fief.url);
  const callback = await request(server)
    .get(`${callbackUrl.pathname}${callbackUrl.search}`)
    .set('Cookie', cookieHeader(jar(start)));
  return { start, fief, callbackUrl, callback, cookies: jar(callback, jar(start)) };
}

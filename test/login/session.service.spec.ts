import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import { FiefRequestError, FiefUnavailableError } from '../../lib/client/errors.js';
import type { FiefTokenResponse, FiefUserInfo } from '../../lib/client/types.js';
import type { FiefLoginClient } from '../../lib/login/login-client.interface.js';
import { resolveFiefLoginOptions } from '../../lib/login/login-options.js';
import type { FiefLoginOptions } from '../../lib/login/login-options.interface.js';
import { FiefCookieTooLargeError } from '../../lib/login/login.errors.js';
import { FiefSessionService, type FiefSession } from '../../lib/login/session.service.js';

const SECRET = 'session-secret-session-secret-0123456789';
const now = () => Math.floor(Date.now() / 1000);

/**
 * Fief's token endpoint stand-in for the refresh logic alone: it counts calls and answers what the
 * test says. The live-server behaviour is covered by the e2e suite.
 */
class RefreshingClient implements Partial<FiefLoginClient> {
  calls: string[] = [];
  answer: () => Promise<[FiefTokenResponse, FiefUserInfo]> = async () => [
    { access_token: `at-${this.calls.length}`, id_token: 'id', token_type: 'bearer', expires_in: 3600, refresh_token: `rt-${this.calls.length}` },
    { sub: 'u', email: 'u@example.com', tenant_id: 't' },
  ];
  async authRefreshToken(refreshToken: string): Promise<[FiefTokenResponse, FiefUserInfo]> {
    this.calls.push(refreshToken);
    await new Promise((resolve) => setTimeout(resolve, 20));
    return this.answer();
  }
}

function service(client = new RefreshingClient(), options: Partial<FiefLoginOptions> = {}) {
  const resolved = resolveFiefLoginOptions({ redirectUri: 'https://app.example/auth/callback', cookieSecret: SECRET, ...options });
  return { sessions: new FiefSessionService(resolved, client as unknown as FiefLoginClient), client };
}

function response(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new Socket()));
}

function setCookies(res: ServerResponse): string[] {
  const header = res.getHeader('set-cookie');
  return header === undefined ? [] : ([] as string[]).concat(header as string | string[]);
}

function requestWith(res: ServerResponse) {
  const cookies = setCookies(res).map((line) => parseSetCookie(line)).filter((c) => c.value);
  return { headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') } };
}

const session = (overrides: Partial<FiefSession> = {}): FiefSession => ({
  accessToken: 'at-0',
  accessTokenExpiresAt: now() + 3600,
  refreshToken: 'rt-0',
  expiresAt: now() + 86400,
  ...overrides,
});

describe('FiefSessionService', () => {
  it('writes an HttpOnly, SameSite=Lax, Secure, Path=/ cookie that reads back, next to other cookies', async () => {
    const { sessions } = service();
    const res = response();
    res.appendHeader('Set-Cookie', 'theme=dark; Path=/');
    const written = session();
    await sessions.write(res, written);

    const lines = setCookies(res);
    expect(lines[0]).toBe('theme=dark; Path=/');
    const cookie = parseSetCookie(lines[1]);
    expect(cookie).toMatchObject({ name: 'fief_session', httpOnly: true, secure: true, sameSite: 'lax', path: '/' });
    expect(cookie.maxAge).toBeGreaterThan(86300);
    expect(cookie.maxAge).toBeLessThanOrEqual(86400);
    expect(lines[1]).not.toContain('at-0');
    expect(await sessions.read(requestWith(res))).toEqual(written);
  });

  it('leaves Secure off only when configured for plain-http localhost, and honours the cookie name', async () => {
    const { sessions } = service(undefined, {
      redirectUri: 'http://localhost:3000/auth/callback',
      secureCookies: false,
      sessionCookieName: 'my_app_session',
    });
    const res = response();
    await sessions.write(res, session());
    expect(parseSetCookie(setCookies(res)[0]).name).toBe('my_app_session');
    expect(setCookies(res)[0]).not.toMatch(/Secure/i);
  });

  it('clears with an expired, otherwise identical cookie', () => {
    const { sessions } = service();
    const res = response();
    sessions.clear(res);
    const cookie = parseSetCookie(setCookies(res)[0]);
    expect(cookie).toMatchObject({ name: 'fief_session', value: '', maxAge: 0, httpOnly: true, secure: true, path: '/' });
    expect(cookie.expires?.getTime()).toBe(0);
  });

  it('refuses to write a cookie over 4 KB instead of letting the browser drop it', async () => {
    const { sessions } = service();
    const res = response();
    await expect(sessions.write(res, session({ accessToken: 'x'.repeat(4000) }))).rejects.toThrow(FiefCookieTooLargeError);
    await expect(sessions.write(res, session({ accessToken: 'x'.repeat(4000) }))).rejects.toThrow(/over the browser limit of 4096/);
    expect(setCookies(res)).toEqual([]);
  });

  it('reads no session from a missing, foreign-secret or garbage cookie, and clears a bad one', async () => {
    const { sessions } = service();
    const foreign = service(undefined, { cookieSecret: 'another-secret-another-secret-0123456789' }).sessions;
    const res = response();
    await foreign.write(res, session());
    const request = requestWith(res);
    expect(await sessions.read({ headers: {} })).toBeUndefined();
    expect(await sessions.read(request)).toBeUndefined();
    expect(await sessions.read({ headers: { cookie: 'fief_session=garbage' } })).toBeUndefined();

    const out = response();
    expect(await sessions.authenticate(request, out)).toBeUndefined();
    expect(parseSetCookie(setCookies(out)[0])).toMatchObject({ name: 'fief_session', value: '', maxAge: 0 });
  });

  it('returns a fresh session as is, without calling Fief', async () => {
    const { sessions, client } = service();
    const fresh = session();
    expect(await sessions.refreshIfExpired(fresh, response())).toBe(fresh);
    expect(client.calls).toEqual([]);
  });

  it('refreshes an expired session once for concurrent requests, and re-sets the cookie on each', async () => {
    const { sessions, client } = service();
    const expired = session({ accessTokenExpiresAt: now() - 5 });
    const responses = Array.from({ length: 5 }, response);
    const results = await Promise.all(responses.map((res) => sessions.refreshIfExpired(expired, res)));
    expect(client.calls).toEqual(['rt-0']);
    for (const result of results) {
      expect(result).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: expired.expiresAt });
    }
    for (const res of responses) expect(await sessions.read(requestWith(res))).toEqual(results[0]);

    // A request that still carried the old cookie a moment later gets the same refresh, not a second one
    // (Fief rotated the refresh token: using the old one again would end the session).
    expect(await sessions.refreshIfExpired(expired, response())).toEqual(results[0]);
    expect(client.calls).toEqual(['rt-0']);
  });

  it('refreshes ahead of expiry by the configured leeway', async () => {
    const { sessions, client } = service(undefined, { refreshLeeway: 120 });
    await sessions.refreshIfExpired(session({ accessTokenExpiresAt: now() + 60 }));
    expect(client.calls).toEqual(['rt-0']);
  });

  it('ends the session when Fief refuses the refresh token', async () => {
    const client = new RefreshingClient();
    client.answer = () => Promise.reject(new FiefRequestError(400, '{"error":"invalid_grant"}'));
    const { sessions } = service(client);
    const res = response();
    expect(await sessions.refreshIfExpired(session({ accessTokenExpiresAt: now() - 5 }), res)).toBeUndefined();
    expect(parseSetCookie(setCookies(res)[0])).toMatchObject({ name: 'fief_session', value: '', maxAge: 0 });
  });

  it('keeps the session and throws when Fief is unavailable, then retries on the next request', async () => {
    const client = new RefreshingClient();
    const answer = client.answer;
    client.answer = () => Promise.reject(new FiefUnavailableError('Fief timed out'));
    const { sessions } = service(client);
    const expired = session({ accessTokenExpiresAt: now() - 5 });
    const res = response();
    await expect(sessions.refreshIfExpired(expired, res)).rejects.toThrow(FiefUnavailableError);
    expect(setCookies(res)).toEqual([]);
    client.answer = answer;
    expect(await sessions.refreshIfExpired(expired, response())).toMatchObject({ accessToken: 'at-2' });
    expect(client.calls).toEqual(['rt-0', 'rt-0']);
  });

  it('ends an expired session that has no refresh token', async () => {
    const { sessions, client } = service();
    const res = response();
    expect(await sessions.refreshIfExpired(session({ accessTokenExpiresAt: now() - 5, refreshToken: undefined }), res)).toBeUndefined();
    expect(client.calls).toEqual([]);
    expect(parseSetCookie(setCookies(res)[0]).maxAge).toBe(0);
  });

  it('ends a session without refresh token with its access token, and one with a refresh token after sessionMaxAge', () => {
    const { sessions } = service(undefined, { sessionMaxAge: 7200 });
    const tokens = { access_token: 'a', id_token: 'i', token_type: 'bearer', expires_in: 600 };
    expect(sessions.fromTokens(tokens).expiresAt - now()).toBeLessThanOrEqual(600);
    expect(sessions.fromTokens({ ...tokens, refresh_token: 'r' }).expiresAt - now()).toBeGreaterThan(7100);
    const noRefresh = service(undefined, { refresh: false }).sessions;
    expect(noRefresh.fromTokens({ ...tokens, refresh_token: 'r' }).refreshToken).toBeUndefined();
  });
});

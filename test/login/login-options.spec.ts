import { describe, expect, it } from '@jest/globals';
import { FiefError } from '../../lib/client/errors.js';
import { resolveFiefLoginOptions } from '../../lib/login/login-options.js';
import type { FiefLoginOptions } from '../../lib/login/login-options.interface.js';

const SECRET = 'secret-secret-secret-secret-secret-32';
const base: FiefLoginOptions = { redirectUri: 'https://app.example/auth/callback', cookieSecret: SECRET };

describe('resolveFiefLoginOptions', () => {
  it('applies strict defaults', () => {
    expect(resolveFiefLoginOptions(base)).toEqual({
      redirectUri: 'https://app.example/auth/callback',
      callbackPath: '/auth/callback',
      cookieSecrets: [SECRET],
      postLogoutRedirectUri: 'https://app.example/',
      path: 'auth',
      scope: ['openid', 'offline_access'],
      refresh: true,
      sessionCookieName: 'fief_session',
      transactionCookieName: 'fief_login',
      publicClient: false,
      secureCookies: true,
      sessionMaxAge: 2592000,
      refreshLeeway: 30,
      defaultReturnTo: '/',
      loginPath: '/auth/login',
    });
  });

  it('always asks for openid, and for offline_access only when refresh is wanted', () => {
    expect(resolveFiefLoginOptions({ ...base, scope: ['castles'], refresh: false }).scope).toEqual(['openid', 'castles']);
    expect(resolveFiefLoginOptions({ ...base, scope: ['openid', 'offline_access'] }).scope).toEqual(['openid', 'offline_access']);
  });

  it('derives the login path from a custom prefix', () => {
    const options = resolveFiefLoginOptions({ ...base, path: '/account/' });
    expect(options.path).toBe('account');
    expect(options.loginPath).toBe('/account/login');
  });

  it('allows plain-http cookies only for a loopback redirect URI', () => {
    for (const host of ['localhost:3000', '127.0.0.1:3000', '[::1]:3000']) {
      const options = resolveFiefLoginOptions({ ...base, redirectUri: `http://${host}/auth/callback`, secureCookies: false });
      expect(options.secureCookies).toBe(false);
    }
    for (const redirectUri of ['https://localhost/auth/callback', 'http://app.example/auth/callback', 'http://10.0.0.1/cb']) {
      expect(() => resolveFiefLoginOptions({ ...base, redirectUri, secureCookies: false })).toThrow(/secureCookies may be false only/);
    }
  });

  it.each<[string, Partial<FiefLoginOptions> | Record<string, unknown>, RegExp]>([
    ['a missing redirectUri', { redirectUri: undefined }, /login.redirectUri is required/],
    ['a relative redirectUri', { redirectUri: '/auth/callback' }, /is not an absolute URL/],
    ['a non-http redirectUri', { redirectUri: 'ftp://app.example/cb' }, /must be an http or https URL/],
    ['a redirectUri with a fragment', { redirectUri: 'https://app.example/cb#x' }, /must not have a fragment/],
    ['a missing secret', { cookieSecret: undefined }, /login.cookieSecret must be a string/],
    ['a short secret', { cookieSecret: 'short' }, /login.cookieSecret is 5 bytes/],
    ['a bad post-logout URI', { postLogoutRedirectUri: 'not a url' }, /postLogoutRedirectUri "not a url" is not an absolute URL/],
    ['a bad cookie name', { sessionCookieName: 'my session' }, /sessionCookieName "my session" is not a valid cookie name/],
    ['a bad scope', { scope: ['castles read'] }, /login.scope must be a list/],
    ['a bad max age', { sessionMaxAge: 1.5 }, /login.sessionMaxAge must be an integer/],
    ['an unsafe default returnTo', { defaultReturnTo: '//evil.com' }, /defaultReturnTo "\/\/evil.com" must be a same-site path/],
    ['an unsafe login path', { loginPath: 'https://evil.com/login' }, /loginPath .* must be a same-site path/],
    ['a bad path', { path: 'auth?x' }, /login.path "auth\?x" must be a plain route path/],
    ['a bad lang', { lang: 'fr FR' }, /login.lang "fr FR" must be a language tag/],
    ['a non-boolean secureCookies', { secureCookies: 'no' }, /secureCookies must be a boolean/],
  ])('refuses %s with a message naming the option', (_label, change, message) => {
    const attempt = () => resolveFiefLoginOptions({ ...base, ...change } as FiefLoginOptions);
    expect(attempt).toThrow(FiefError);
    expect(attempt).toThrow(message);
  });
});

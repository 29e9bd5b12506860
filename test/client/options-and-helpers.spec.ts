/**
 * What needs no Fief behind it: option validation at construction, PKCE, the authorization URL,
 * the requirement check, and the verified-token cache (its bounds, expiry and sharing) — the
 * last over the live dev server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FiefClient, checkAccessTokenInfo } from '../../lib/client/fief-client.js';
import {
  FiefAccessTokenACRTooLow,
  FiefAccessTokenExpired,
  FiefAccessTokenMissingPermission,
  FiefAccessTokenMissingScope,
  FiefError,
} from '../../lib/client/errors.js';
import { generateCodeVerifier, generateNonce, generateState, getCodeChallenge } from '../../lib/client/pkce.js';
import { FiefACR, type FiefAccessTokenInfo, type FiefClientOptions } from '../../lib/client/types.js';
import { VerifiedTokenCache } from '../../lib/client/verified-token-cache.js';
import { FiefDevServer } from '../../lib/testing/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('FiefClient options', () => {
  const valid: FiefClientOptions = { baseURL: 'https://example.fief.dev', clientId: 'id', clientSecret: 'secret' };

  it.each([
    ['a base URL without scheme', { baseURL: 'example.fief.dev' }, /include the scheme/],
    ['a host:port base URL', { baseURL: 'localhost:8000' }, /http or https|include the scheme/],
    ['a non-http base URL', { baseURL: 'ftp://example.fief.dev' }, /http or https/],
    ['a base URL with a query', { baseURL: 'https://example.fief.dev/?tenant=1' }, /query or a fragment/],
    ['a base URL with a fragment', { baseURL: 'https://example.fief.dev/#x' }, /query or a fragment/],
    ['a base URL with credentials', { baseURL: 'https://u:p@example.fief.dev' }, /credentials/],
    ['an empty base URL', { baseURL: '' }, /baseURL is required/],
    ['an empty clientId', { clientId: '' }, /clientId/],
    ['an empty clientSecret', { clientSecret: '' }, /clientSecret/],
    ['an encryptionKey that is not JSON', { encryptionKey: 'not json' }, /not valid JSON/],
    ['a public encryptionKey', { encryptionKey: JSON.stringify({ kty: 'RSA', n: 'AQAB', e: 'AQAB' }) }, /public key/],
    ['a non-RSA encryptionKey', { encryptionKey: JSON.stringify({ kty: 'EC', d: 'x' }) }, /RSA/],
    ['a zero requestTimeout', { requestTimeout: 0 }, /requestTimeout/],
    ['a negative clockTolerance', { clockTolerance: -1 }, /clockTolerance/],
    ['a NaN metadataTtl', { metadataTtl: Number.NaN }, /metadataTtl/],
    ['a bad token cache bound', { tokenCache: { maxEntries: -1 } }, /maxEntries/],
    ['a non-array allowedAudiences', { allowedAudiences: 'aud' as unknown as string[] }, /allowedAudiences/],
  ])('refuses %s at construction', (_name, override, message) => {
    expect(() => new FiefClient({ ...valid, ...override })).toThrow(FiefError);
    expect(() => new FiefClient({ ...valid, ...override })).toThrow(message);
  });

  it('normalises the base URL (trailing slashes) and keeps a tenant path', async () => {
    expect(new FiefClient({ ...valid, baseURL: 'https://example.fief.dev/' }).baseURL).toBe('https://example.fief.dev');
    const tenant = new FiefClient({ ...valid, baseURL: 'https://example.fief.dev/secondary//' });
    expect(tenant.baseURL).toBe('https://example.fief.dev/secondary');
    expect(await tenant.logoutUrl('https://app.example/after logout')).toBe(
      'https://example.fief.dev/secondary/logout?redirect_uri=https%3A%2F%2Fapp.example%2Fafter+logout',
    );
    await expect(tenant.logoutUrl('/relative')).rejects.toThrow(/absolute URL/);
  });
});

describe('PKCE helpers', () => {
  it('computes the RFC 7636 appendix B challenge', async () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    expect(await getCodeChallenge(verifier)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(await getCodeChallenge(verifier, 'plain')).toBe(verifier);
  });

  it('generates valid, distinct verifiers, states and nonces', async () => {
    const verifiers = new Set(Array.from({ length: 100 }, () => generateCodeVerifier()));
    expect(verifiers.size).toBe(100);
    for (const verifier of verifiers) expect(verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(generateState()).not.toBe(generateState());
    expect(generateNonce()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const client = new FiefClient({ baseURL: 'https://example.fief.dev', clientId: 'id' });
    const verifier = await client.generateCodeVerifier();
    expect(await client.getCodeChallenge(verifier)).toBe(await getCodeChallenge(verifier, 'S256'));
  });

  it('refuses verifiers outside RFC 7636 and unknown methods', async () => {
    for (const bad of ['short', 'x'.repeat(129), `${'x'.repeat(42)} `, `${'x'.repeat(42)}/`]) {
      await expect(getCodeChallenge(bad)).rejects.toThrow(FiefError);
    }
    await expect(getCodeChallenge('x'.repeat(43), 'S512' as 'S256')).rejects.toThrow(/Unknown PKCE method/);
  });

  it('maps every valid verifier to a 43-character base64url challenge (property)', async () => {
    const unreserved = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'.split(''));
    await fc.assert(
      fc.asyncProperty(fc.array(unreserved, { minLength: 43, maxLength: 128 }), async (chars) => {
        expect(await getCodeChallenge(chars.join(''))).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }),
      { numRuns: 200 },
    );
  });
});

describe('checkAccessTokenInfo', () => {
  const info: FiefAccessTokenInfo = {
    id: 'user',
    scope: ['openid', 'castles'],
    acr: FiefACR.LEVEL_ZERO,
    permissions: ['castles:read'],
    access_token: 'token',
    exp: 0,
  };

  it('passes what is granted and names what is missing', () => {
    expect(() => checkAccessTokenInfo(info, {})).not.toThrow();
    expect(() => checkAccessTokenInfo(info, { requiredScope: ['openid'], requiredPermissions: ['castles:read'] })).not.toThrow();
    expect(() => checkAccessTokenInfo(info, { requiredAcr: FiefACR.LEVEL_ZERO })).not.toThrow();
    expect(() => checkAccessTokenInfo({ ...info, acr: FiefACR.LEVEL_ONE }, { requiredAcr: FiefACR.LEVEL_ZERO })).not.toThrow();
    expect(() => checkAccessTokenInfo(info, { requiredScope: ['openid', 'admin'] })).toThrow(FiefAccessTokenMissingScope);
    expect(() => checkAccessTokenInfo(info, { requiredAcr: FiefACR.LEVEL_ONE })).toThrow(FiefAccessTokenACRTooLow);
    const missing = (() => {
      try {
        checkAccessTokenInfo(info, { requiredPermissions: ['castles:read', 'castles:create'] });
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toBeInstanceOf(FiefAccessTokenMissingPermission);
    expect((missing as FiefAccessTokenMissingPermission).requiredPermissions).toEqual(['castles:read', 'castles:create']);
  });

  it('refuses an unknown required ACR instead of letting it pass', () => {
    expect(() => checkAccessTokenInfo({ ...info, acr: FiefACR.LEVEL_ONE }, { requiredAcr: '2' as FiefACR })).toThrow(/requiredAcr/);
  });
});

describe('FiefClient.authUrl', () => {
  let dev: FiefDevServer;
  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
  });
  afterAll(() => dev.stop());

  it('builds the authorization URL from discovery with every parameter', async () => {
    const fief = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client' });
    const url = new URL(
      await fief.authUrl('http://127.0.0.1:9999/callback?from=a&b', {
        state: 'st&ate',
        scope: ['offline_access', 'openid', 'offline_access'],
        codeChallenge: 'challenge',
        nonce: 'nonce',
        lang: 'fr-FR',
        extrasParams: { login_hint: 'anne@bretagne.duchy' },
      }),
    );
    expect(`${url.origin}${url.pathname}`).toBe(`${dev.baseURL}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'fief-dev-client',
      redirect_uri: 'http://127.0.0.1:9999/callback?from=a&b',
      scope: 'openid offline_access',
      state: 'st&ate',
      code_challenge: 'challenge',
      code_challenge_method: 'S256',
      nonce: 'nonce',
      lang: 'fr-FR',
      login_hint: 'anne@bretagne.duchy',
    });
    expect(new URL(await fief.authUrl('http://127.0.0.1:9999/cb')).searchParams.get('scope')).toBe('openid');
  });

  it('refuses extras that would override its own parameters, and inconsistent PKCE parameters', async () => {
    const fief = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client' });
    await expect(fief.authUrl('http://127.0.0.1:9999/cb', { extrasParams: { client_id: 'other' } })).rejects.toThrow(/client_id/);
    await expect(fief.authUrl('http://127.0.0.1:9999/cb', { codeChallengeMethod: 'S256' })).rejects.toThrow(/without a codeChallenge/);
    await expect(fief.authUrl('not a url')).rejects.toThrow(/absolute URL/);
  });
});

describe('FiefClient verified-token cache', () => {
  let dev: FiefDevServer;
  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
  });
  afterAll(() => dev.stop());

  it('answers a repeated token from the cache, frozen, and still checks requirements on each call', async () => {
    const fief = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client' });
    const token = await dev.issueAccessToken({ user: 'guest@example.com' });
    expect(fief.getVerifiedAccessToken(token)).toBeUndefined();
    const first = await fief.validateAccessToken(token);
    expect(await fief.verifyAccessToken(token)).toBe(first);
    // The synchronous read answers the very same verified object, and nothing for a look-alike.
    expect(fief.getVerifiedAccessToken(token)).toBe(first);
    expect(fief.getVerifiedAccessToken(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(Object.isFrozen(first) && Object.isFrozen(first.permissions) && Object.isFrozen(first.scope)).toBe(true);
    await expect(fief.validateAccessToken(token, { requiredPermissions: ['castles:create'] })).rejects.toBeInstanceOf(
      FiefAccessTokenMissingPermission,
    );
    const uncached = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client', tokenCache: false });
    expect(await uncached.verifyAccessToken(token)).not.toBe(await uncached.verifyAccessToken(token));
    expect(uncached.getVerifiedAccessToken(token)).toBeUndefined();
    // Concurrent first uses of one token share a single verification, cache or not.
    const burst = await Promise.all(Array.from({ length: 50 }, () => uncached.verifyAccessToken(token)));
    expect(new Set(burst).size).toBe(1);
  });

  it('never serves a token past its exp', async () => {
    const fief = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clockTolerance: 0 });
    const token = await dev.issueAccessToken({ expiresIn: 1 });
    await fief.verifyAccessToken(token);
    expect(fief.getVerifiedAccessToken(token)).toBeDefined();
    await sleep(1100);
    expect(fief.getVerifiedAccessToken(token)).toBeUndefined();
    await expect(fief.verifyAccessToken(token)).rejects.toBeInstanceOf(FiefAccessTokenExpired);
  });

  const info = (id: string): FiefAccessTokenInfo => ({ id, scope: ['openid'], acr: FiefACR.LEVEL_ZERO, permissions: [], access_token: id, exp: 0 });

  it('stays within its entry bound and spares recently used entries', () => {
    const cache = new VerifiedTokenCache(3, 1 << 20);
    for (const token of ['a', 'b', 'c']) cache.set(token, info(token), 10_000, 0);
    expect(cache.get('a', 1)?.id).toBe('a');
    cache.set('d', info('d'), 10_000, 2);
    expect(cache.size).toBe(3);
    expect(cache.get('a', 3)?.id).toBe('a');
    expect(cache.get('b', 3)).toBeUndefined();
    expect(cache.get('a', 10_000)).toBeUndefined(); // expired
  });

  it('answers only the very token it holds: a look-alike with the same signature end is a miss', () => {
    const cache = new VerifiedTokenCache(10, 1 << 20);
    const end = 'S'.repeat(100);
    const genuine = `header.payload.${end}`;
    cache.set(genuine, info('genuine'), 10_000, 0);
    for (const lookalike of [`header.forged.${end}`, `x${genuine}`, genuine.slice(1), end]) expect(cache.get(lookalike, 1)).toBeUndefined();
    expect(cache.get(`header.payload.${'S'.repeat(100)}`, 1)?.id).toBe('genuine');
    expect(cache.get(undefined as unknown as string, 1)).toBeUndefined();
  });

  it('stays within its byte bound and refuses an entry larger than the bound', () => {
    const cache = new VerifiedTokenCache(1000, 4096);
    for (let index = 0; index < 50; index++) cache.set(`token-${index}-${'x'.repeat(500)}`, info(String(index)), 10_000, 0);
    expect(cache.totalBytes).toBeLessThanOrEqual(4096);
    expect(cache.size).toBeGreaterThan(0);
    cache.set('y'.repeat(5000), info('big'), 10_000, 0);
    expect(cache.get('y'.repeat(5000), 1)).toBeUndefined();
    expect(cache.totalBytes).toBeLessThanOrEqual(4096);
  });

  it('keeps its bounds under any sequence of inserts and reads (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 400 })), { maxLength: 300 }),
        (operations) => {
          const cache = new VerifiedTokenCache(8, 3000);
          let now = 0;
          for (const [isRead, key, length] of operations) {
            now += 1;
            const token = `${key}:${'t'.repeat(length)}`;
            if (isRead) cache.get(token, now);
            else cache.set(token, info(String(key)), now + 50, now);
            expect(cache.size).toBeLessThanOrEqual(8);
            expect(cache.totalBytes).toBeLessThanOrEqual(3000);
            expect(cache.totalBytes).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });
});

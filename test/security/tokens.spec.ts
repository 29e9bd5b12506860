/**
 * Algorithms, signatures and claims: every forged, confused or mis-scoped token is refused with
 * 401 invalid_token (or 403 insufficient_scope for a valid token that lacks a grant), no request
 * leaves for a key URL a token names, and the handler never runs.
 */
import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { exportJWK } from 'jose';
import { FiefClient, FiefModule } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import {
  accessClaims,
  ADAPTERS,
  ANNE,
  CLIENT,
  expectRefused,
  forgeJwt,
  handlerCalls,
  rsaKey,
  PassportTargetController,
  startApp,
  startTrap,
  TargetController,
  toKeyObject,
  type ForgeKey,
} from './security-fixtures.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe.each(ADAPTERS)('tokens on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;
  let trap: Awaited<ReturnType<typeof startTrap>>;
  let realKey: ForgeKey;
  let kid: string;
  let sub: string;

  beforeAll(async () => {
    dev = new FiefDevServer({
      clients: [
        { ...CLIENT, redirectUris: [REDIRECT_URI] },
        { clientId: 'other-client', clientSecret: 'other-secret', redirectUris: [REDIRECT_URI] },
      ],
    });
    const baseURL = await dev.start();
    trap = await startTrap();
    ({ app, url } = await startApp(adapter, { imports: [FiefModule.forRoot({ baseURL, ...CLIENT })], controllers: [TargetController, PassportTargetController] }));
    realKey = { kind: 'rsa', key: toKeyObject(dev.signingKey.privateKey) };
    kid = dev.signingKey.kid;
    sub = dev.findUser(ANNE)!.id!;
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
    await trap?.close();
  });

  const get = (token: string, path = '/target/plain') => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const claims = (overrides: Record<string, unknown> = {}) => accessClaims(dev.issuer, sub, overrides);
  const header = (overrides: Record<string, unknown> = {}) => ({ alg: 'RS256', kid, ...overrides });
  const invalid = (token: string, path?: string) => expectRefused(() => get(token, path), 401, 'invalid_token');
  /**
   * Claims of a token issued before the app fetched Fief's keys: under an unknown kid it is provably
   * not Fief's (401). A fresh one might be signed by a key rotated in since, which gets a 503 until the
   * refetch cooldown ends (see test/faults).
   */
  const olderClaims = () => claims({ iat: Math.floor(Date.now() / 1000) - 600 });

  it('accepts a token forged exactly like Fief signs them (control case for the forger)', async () => {
    const before = handlerCalls.plain;
    expect((await get(forgeJwt(header({ typ: 'JWT' }), claims(), realKey))).status).toBe(200);
    expect(handlerCalls.plain).toBe(before + 1);
  });

  describe('algorithms and signatures', () => {
    it('alg none, with and without a kid, with and without a signature', async () => {
      await invalid(forgeJwt(header({ alg: 'none' }), claims(), { kind: 'none' }));
      await invalid(forgeJwt({ alg: 'none' }, claims(), { kind: 'none' }));
      await invalid(forgeJwt(header({ alg: 'NONE' }), claims(), { kind: 'none' }));
      await invalid(`${forgeJwt(header({ alg: 'none' }), claims(), { kind: 'none' })}c2ln`);
    });

    it('HS256 keyed with the public key (as PEM, DER and JWK JSON): the algorithm confusion attack', async () => {
      const pem = createPublicKey(KeyObject.from(dev.signingKey.privateKey));
      for (const secret of [
        pem.export({ type: 'spki', format: 'pem' }) as string,
        pem.export({ type: 'pkcs1', format: 'pem' }) as string,
        pem.export({ type: 'spki', format: 'der' }) as Buffer,
        JSON.stringify(dev.signingKey.publicJwk),
      ]) {
        for (const alg of ['HS256', 'HS384', 'HS512']) await invalid(forgeJwt(header({ alg }), claims(), { kind: 'hmac', secret }));
      }
    });

    it('the right RSA key with another RSA or PS algorithm', async () => {
      for (const alg of ['RS384', 'RS512']) await invalid(forgeJwt(header({ alg }), claims(), realKey));
      const pss: ForgeKey = { kind: 'rsa-pss', key: toKeyObject(dev.signingKey.privateKey) };
      for (const alg of ['PS256', 'PS384', 'PS512']) await invalid(forgeJwt(header({ alg }), claims(), pss));
    });

    it('an EC key under the real kid (ES256, ES384)', async () => {
      const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
      await invalid(forgeJwt(header({ alg: 'ES256' }), claims(), { kind: 'ec', key: p256 }));
      await invalid(forgeJwt(header({ alg: 'ES384' }), claims(), { kind: 'ec', key: p384 }));
    });

    it('an RS256 header with the RS256 signature of another message', async () => {
      const honest = forgeJwt(header(), claims(), realKey);
      const forged = forgeJwt(header(), claims({ permissions: ['castles:create'] }), realKey);
      await invalid(`${forged.split('.').slice(0, 2).join('.')}.${honest.split('.')[2]}`, '/target/permission');
    });

    it('a tampered payload (more permissions, another user, later exp) under the original signature', async () => {
      const honest = forgeJwt(header(), claims(), realKey);
      const [head, , signature] = honest.split('.');
      for (const change of [{ permissions: ['castles:create'] }, { sub: 'someone-else' }, { exp: Math.floor(Date.now() / 1000) + 86400 * 365 }]) {
        const payload = Buffer.from(JSON.stringify(claims(change))).toString('base64url');
        await invalid(`${head}.${payload}.${signature}`, '/target/permission');
      }
    });

    it('a foreign 2048-bit key under the real kid, and a weak 1024-bit one under real and new kids', async () => {
      await invalid(forgeJwt(header(), claims(), { kind: 'rsa', key: rsaKey(2048) }));
      const weak: ForgeKey = { kind: 'rsa', key: rsaKey(1024) };
      await invalid(forgeJwt(header(), claims(), weak));
      await invalid(forgeJwt(header({ kid: 'weak-key' }), olderClaims(), weak));
    });

    it('unknown crit headers, even when signed by the real key', async () => {
      await invalid(forgeJwt(header({ crit: ['exp'], exp: 1 }), claims(), realKey));
      await invalid(forgeJwt(header({ crit: ['https://attacker/ext'], 'https://attacker/ext': true }), claims(), realKey));
      await invalid(forgeJwt(header({ crit: [] }), claims(), realKey));
      await invalid(forgeJwt(header({ b64: false, crit: ['b64'] }), claims(), realKey));
    });

    it('jku / x5u / jwk / x5c headers naming the attacker key: refused, and no request leaves for them', async () => {
      const attacker = rsaKey(2048);
      const attackerJwk = { ...(await exportJWK(attacker)), kid };
      delete (attackerJwk as Record<string, unknown>).d;
      const signed: ForgeKey = { kind: 'rsa', key: attacker };
      const hits = trap.hits();
      await invalid(forgeJwt(header({ jku: `${trap.url}/jwks.json` }), claims(), signed));
      await invalid(forgeJwt(header({ jku: `${trap.url}/jwks.json`, kid: 'attacker' }), olderClaims(), signed));
      await invalid(forgeJwt(header({ x5u: `${trap.url}/cert.pem` }), claims(), signed));
      await invalid(forgeJwt(header({ jwk: attackerJwk }), claims(), signed));
      await invalid(forgeJwt(header({ x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }), claims(), signed));
      // Even with the real signature, a token naming other key sources is not what Fief issues.
      await invalid(forgeJwt(header({ jku: `${trap.url}/jwks.json` }), claims(), realKey));
      expect(trap.hits()).toBe(hits);
    });

    it('odd kid values: missing, empty, number, object, prototype names, traversal, oversized', async () => {
      const forged = { kind: 'rsa' as const, key: rsaKey(2048) };
      for (const odd of [undefined, '', 42, { kid }, [kid], '__proto__', 'constructor', 'toString', '../../../etc/passwd', `${kid}\u0000`, 'k'.repeat(4096)]) {
        const head: Record<string, unknown> = { alg: 'RS256' };
        if (odd !== undefined) head.kid = odd;
        await invalid(forgeJwt(head, olderClaims(), forged));
      }
      // A number or array kid must not be coerced into the real one.
      await invalid(forgeJwt({ alg: 'RS256', kid: [kid] }, claims(), realKey));
    });

    it('header values echoed in error descriptions cannot inject challenge parameters or headers', async () => {
      const forged = { kind: 'rsa' as const, key: rsaKey(2048) };
      for (const hostile of [
        { kid: 'x", error="insufficient_scope", scope="admin' },
        { kid: 'x\r\nSet-Cookie: fief_session=attacker\r\nX-Injected: 1' },
        { kid: 'x\\", error="x' },
        { kid: 'clé-ü-\u2028-\u0000' },
        { alg: 'RS256", error="insufficient_scope', kid },
        { typ: 'x", error="insufficient_scope' },
      ]) {
        const res = await invalid(forgeJwt({ alg: 'RS256', ...hostile }, olderClaims(), forged));
        const challenge = res.headers.get('www-authenticate')!;
        // The description may say anything, but as one quoted-string with no quote or backslash in it.
        expect(challenge).toMatch(/^Bearer realm="fief", error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"$/);
        expect(res.headers.get('set-cookie')).toBeNull();
        expect(res.headers.get('x-injected')).toBeNull();
      }
    });

    it('concurrent copies of one forged token are all refused (a shared verification never leaks a pass)', async () => {
      const honest = forgeJwt(header(), claims({ jti: 'concurrent' }), realKey);
      const [head, , signature] = honest.split('.');
      const forged = `${head}.${Buffer.from(JSON.stringify(claims({ jti: 'concurrent', permissions: ['castles:create'] }))).toString('base64url')}.${signature}`;
      const before = handlerCalls.permission + handlerCalls.plain;
      const answers = await Promise.all([
        ...Array.from({ length: 25 }, () => get(forged, '/target/permission')),
        ...Array.from({ length: 25 }, () => get(honest, '/target/permission')),
      ]);
      expect(answers.slice(0, 25).map((res) => res.status)).toEqual(Array(25).fill(401));
      // The honest token lacks the permission: 403 each time, never a 200 borrowed from the other.
      expect(answers.slice(25).map((res) => res.status)).toEqual(Array(25).fill(403));
      expect(handlerCalls.permission + handlerCalls.plain).toBe(before);
    });

    it('broken base64url, JSON and segment counts', async () => {
      const good = forgeJwt(header(), claims(), realKey);
      const [h, p, s] = good.split('.');
      const b64 = (text: string) => Buffer.from(text).toString('base64url');
      for (const broken of [
        `${h}.${p}`,
        `${h}.${p}.${s}.${s}`,
        `${h}.${p}.${s}.${s}.${s}`,
        `${h}..${s}`,
        `.${p}.${s}`,
        `${h}.${p}.`,
        '..',
        `${h}+x.${p}.${s}`,
        `${h}.${p}/.${s}`,
        `${b64('{"alg":"RS256",')}.${p}.${s}`,
        `${b64('[]')}.${p}.${s}`,
        `${b64('null')}.${p}.${s}`,
        `${h}.${b64('{"sub":')}.${s}`,
        forgeJwt(header(), '[]', realKey),
        forgeJwt(header(), 'null', realKey),
        forgeJwt(header(), '"a string"', realKey),
        forgeJwt(header(), '{"sub":"x"', realKey),
      ]) {
        await invalid(broken);
      }
    });

    it('a JWE (five segments) sent as an access token', async () => {
      await invalid(['eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0', 'a', 'b', 'c', 'd'].join('.'));
    });
  });

  describe('claims', () => {
    const now = () => Math.floor(Date.now() / 1000);

    it.each([
      ['expired beyond the tolerance', { exp: now() - 120 }],
      ['nbf in the future', { nbf: now() + 600 }],
      ['iat an hour in the future', { iat: now() + 3600 }],
      ['no exp', { exp: undefined }],
      ['no iat', { iat: undefined }],
      ['no sub', { sub: undefined }],
      ['exp as a string', { exp: String(now() + 3600) }],
      ['iat as a string', { iat: String(now()) }],
      ['nbf as a string', { nbf: String(now() - 10) }],
      ['sub as a number', { sub: 42 }],
      ['sub empty', { sub: '' }],
      ['scope as an array', { scope: ['openid'] }],
      ['no scope', { scope: undefined }],
      ['permissions as a string', { permissions: 'castles:create' }],
      ['permissions with a number', { permissions: ['castles:read', 1] }],
      ['acr unknown', { acr: '2' }],
      ['acr as a number', { acr: 1 }],
      ['aud as a number', { aud: 42 }],
      ['no aud', { aud: undefined }],
      ['another audience', { aud: ['other-client'], azp: 'other-client' }],
      ['our audience but azp of another client', { aud: ['fief-dev-client', 'other-client'], azp: 'other-client' }],
      ['azp as an array', { azp: ['fief-dev-client'] }],
      ['no iss', { iss: undefined }],
      ['another issuer', { iss: 'https://evil.example' }],
      ['issuer with a trailing slash', { iss: 'ISSUER/' }],
      ['issuer in upper case', { iss: 'ISSUER_UPPER' }],
      ['issuer over https instead of http', { iss: 'ISSUER_HTTPS' }],
      ['issuer with a path', { iss: 'ISSUER/tenant' }],
      ['ID-token claims: nonce', { nonce: 'n' }],
      ['ID-token claims: at_hash', { at_hash: 'x' }],
      ['ID-token claims: email', { email: ANNE }],
    ])('%s', async (_label, overrides: Record<string, unknown>) => {
      const iss = String(overrides.iss ?? '')
        .replace('ISSUER_UPPER', dev.issuer.toUpperCase())
        .replace('ISSUER_HTTPS', dev.issuer.replace('http:', 'https:'))
        .replace('ISSUER', dev.issuer);
      const changes = 'iss' in overrides && overrides.iss !== undefined ? { ...overrides, iss } : overrides;
      await invalid(forgeJwt(header(), claims(changes), realKey));
    });

    it('an expired token from the dev server itself, and one within the clock tolerance passes', async () => {
      await invalid(await dev.issueAccessToken({ user: ANNE, expiresIn: -60 }));
      const before = handlerCalls.plain;
      expect((await get(await dev.issueAccessToken({ user: ANNE, expiresIn: -5 }))).status).toBe(200);
      expect(handlerCalls.plain).toBe(before + 1);
    });

    it('an ID token (from the dev server) used as an access token', async () => {
      await invalid(await dev.issueIdToken({ user: ANNE }));
    });

    it('ID and refresh tokens from a real login used as bearer tokens', async () => {
      const client = new FiefClient({ baseURL: dev.baseURL, ...CLIENT });
      const verifier = await client.generateCodeVerifier();
      const authorizeUrl = await client.authUrl(REDIRECT_URI, {
        scope: ['offline_access'],
        state: 'state-state-state',
        codeChallenge: await client.getCodeChallenge(verifier),
      });
      const login = await dev.login(authorizeUrl, { email: ANNE });
      const [tokens] = await client.authCallback(login.code!, REDIRECT_URI, { codeVerifier: verifier });
      expect(tokens.refresh_token).toEqual(expect.any(String));
      const before = handlerCalls.plain;
      expect((await get(tokens.access_token)).status).toBe(200);
      expect(handlerCalls.plain).toBe(before + 1);
      await invalid(tokens.id_token);
      await invalid(tokens.refresh_token!);
    });

    it('a token with typ other than JWT / at+jwt', async () => {
      for (const typ of ['id_token+jwt', 'logout+jwt', 'secevent+jwt', 42]) await invalid(forgeJwt(header({ typ }), claims(), realKey));
    });
  });

  describe("the same refusals through AuthGuard('fief') (the passport strategy)", () => {
    it('passes a valid token (control case)', async () => {
      const before = handlerCalls.passport;
      expect((await get(forgeJwt(header(), claims(), realKey), '/passport-target/plain')).status).toBe(200);
      expect(handlerCalls.passport).toBe(before + 1);
    });

    it('refuses forged, confused, expired and mis-scoped tokens exactly like FiefAuthGuard', async () => {
      const pem = createPublicKey(KeyObject.from(dev.signingKey.privateKey)).export({ type: 'spki', format: 'pem' }) as string;
      const bad = [
        forgeJwt(header({ alg: 'none' }), claims(), { kind: 'none' }),
        forgeJwt(header({ alg: 'HS256' }), claims(), { kind: 'hmac', secret: pem }),
        forgeJwt(header(), claims(), { kind: 'rsa', key: rsaKey(2048) }),
        forgeJwt(header({ jku: `${trap.url}/jwks.json` }), claims(), realKey),
        forgeJwt(header(), claims({ exp: Math.floor(Date.now() / 1000) - 120 }), realKey),
        forgeJwt(header(), claims({ iat: Math.floor(Date.now() / 1000) + 3600 }), realKey),
        forgeJwt(header(), claims({ exp: undefined }), realKey),
        forgeJwt(header(), claims({ aud: ['fief-dev-client', 'other-client'], azp: 'other-client' }), realKey),
        forgeJwt(header(), claims({ iss: `${dev.issuer}/` }), realKey),
        await dev.issueIdToken({ user: ANNE }),
      ];
      for (const token of bad) await expectRefused(() => get(token, '/passport-target/plain'), 401, 'invalid_token');
      await expectRefused(() => get('a b', '/passport-target/plain'), 401, 'invalid_request');
      await expectRefused(() => fetch(`${url}/passport-target/plain?access_token=x`, { headers: { authorization: `Bearer ${bad[0]}` } }), 400, 'invalid_request');
      await expectRefused(() => get(forgeJwt(header(), claims(), realKey), '/passport-target/permission'), 403, 'insufficient_scope');
    });
  });

  describe('403 insufficient_scope for a valid token without the grant', () => {
    it('missing scope: the challenge names it', async () => {
      const res = await expectRefused(() => get(forgeJwt(header(), claims({ scope: 'openid' }), realKey), '/target/scope'), 403, 'insufficient_scope');
      expect(res.headers.get('www-authenticate')).toContain('scope="castles"');
    });

    it('a scope that only contains the needed one as a substring', async () => {
      await expectRefused(() => get(forgeJwt(header(), claims({ scope: 'openid castles:read castlesx' }), realKey), '/target/scope'), 403, 'insufficient_scope');
    });

    it('missing permission, and near-miss permissions', async () => {
      for (const permissions of [[], ['castles:read'], ['castles:Create'], ['castles:create '], ['castles:*'], ['*']]) {
        await expectRefused(() => get(forgeJwt(header(), claims({ permissions }), realKey), '/target/permission'), 403, 'insufficient_scope');
      }
    });

    it('ACR too low: acr 0, and none at all (counts as 0)', async () => {
      const res = await expectRefused(() => get(forgeJwt(header(), claims({ acr: '0' }), realKey), '/target/acr'), 403, 'insufficient_scope');
      expect(res.headers.get('www-authenticate')).toContain('acr_values="1"');
      await expectRefused(() => get(forgeJwt(header(), claims({ acr: undefined }), realKey), '/target/acr'), 403, 'insufficient_scope');
    });

    it('the same routes pass with the grant (control case)', async () => {
      const before = handlerCalls.scope + handlerCalls.permission + handlerCalls.acr;
      expect((await get(forgeJwt(header(), claims({ scope: 'openid castles' }), realKey), '/target/scope')).status).toBe(200);
      expect((await get(forgeJwt(header(), claims({ permissions: ['castles:create'] }), realKey), '/target/permission')).status).toBe(200);
      expect((await get(forgeJwt(header(), claims({ acr: '1' }), realKey), '/target/acr')).status).toBe(200);
      expect(handlerCalls.scope + handlerCalls.permission + handlerCalls.acr).toBe(before + 3);
    });
  });
});

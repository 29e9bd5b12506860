/**
 * Signing keys (issue 10 §1): a JWKS entry verifies tokens only if it is fit to (RSA, `use` sig,
 * `key_ops` verify, `alg` RS256, ≥ 2048 bits, odd exponent ≥ 3); an unfit entry never shadows a fit
 * one under the same kid; two fit keys under one kid are each tried; and a kid Fief publishes but
 * the module refuses is a verdict (401 invalid_token at once, no refetch), never a 503.
 *
 * A real HTTP server serves the dev server's discovery with a crafted JWKS; tokens are forged with
 * node:crypto, through FiefClient directly and through FiefAuthGuard on Express and Fastify.
 */
import { createHash, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FiefAccessTokenInvalid, FiefClient, FiefModule, FiefUnavailableError } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { sendJson, startStubServer } from '../client/stub-http-server.js';
import { accessClaims, ADAPTERS, ANNE, CLIENT, expectRefused, forgeJwt, handlerCalls, rsaKey, startApp, TargetController, toKeyObject } from './security-fixtures.js';

const publicJwk = (key: KeyObject, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...(createPublicKey(key).export({ format: 'jwk' }) as JsonWebKey),
  ...extra,
});
const rsa = (bits = 2048, publicExponent = 65537) => generateKeyPairSync('rsa', { modulusLength: bits, publicExponent }).privateKey;

/**
 * With e = 1 the RSA "signature" of a message is its PKCS #1 v1.5 encoding itself (s^1 mod n = s): a
 * token anyone can sign, with no private key, for any modulus of 2048 bits.
 */
function forgeWithExponentOne(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update(input).digest()]);
  const encoded = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(256 - digestInfo.length - 3, 0xff), Buffer.from([0]), digestInfo]);
  return `${input}.${encoded.toString('base64url')}`;
}

describe('signing-key fitness', () => {
  let dev: FiefDevServer;
  let stub: Awaited<ReturnType<typeof startStubServer>>;
  let sub: string;
  const keys: Record<string, KeyObject> = {};
  let jwks: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [CLIENT] });
    await dev.start();
    sub = dev.findUser(ANNE)!.id!;
    const discovery = (await (await fetch(`${dev.baseURL}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    stub = await startStubServer((req, res, base) => {
      if (req.url === '/.well-known/openid-configuration') return sendJson(res, 200, { ...discovery, jwks_uri: `${base}/.well-known/jwks.json` });
      sendJson(res, 200, { keys: jwks });
    });
    const genuine = dev.signingKey;
    keys.genuine = toKeyObject(genuine.privateKey);
    for (const name of ['e3', 'opsVerify', 'opsSignVerify', 'twinA', 'twinB', 'opsEncrypt', 'useEnc', 'algRs512', 'opsString', 'leaked', 'ec', 'evenE', 'other']) {
      keys[name] = name === 'e3' ? rsa(2048, 3) : rsa();
    }
    keys.small = rsaKey(1024);
    const fakeModulus = publicJwk(rsa()).n;
    jwks = [
      // Under the genuine kid, listed first: an encrypt-only key and a degenerate e = 1 key must not shadow Fief's key.
      publicJwk(keys.opsEncrypt, { kid: genuine.kid, key_ops: ['encrypt'] }),
      { kty: 'RSA', kid: genuine.kid, n: fakeModulus, e: 'AQ' },
      genuine.publicJwk,
      // Fit, in the less common spellings.
      publicJwk(keys.e3, { kid: 'e3' }),
      publicJwk(keys.opsVerify, { kid: 'ops-verify', key_ops: ['verify'], use: 'sig', alg: 'RS256' }),
      publicJwk(keys.opsSignVerify, { kid: 'ops-sign-verify', key_ops: ['sign', 'verify'] }),
      // Two fit keys under one kid: each is tried.
      publicJwk(keys.twinA, { kid: 'twins' }),
      publicJwk(keys.twinB, { kid: 'twins' }),
      // Published, but unfit to verify RS256 tokens.
      { kty: 'RSA', kid: 'e1', n: fakeModulus, e: 'AQ' },
      publicJwk(keys.opsEncrypt, { kid: 'ops-encrypt', key_ops: ['encrypt'] }),
      publicJwk(keys.opsString, { kid: 'ops-string', key_ops: 'verify' }),
      publicJwk(keys.useEnc, { kid: 'use-enc', use: 'enc' }),
      publicJwk(keys.algRs512, { kid: 'alg-rs512', alg: 'RS512' }),
      publicJwk(keys.small, { kid: 'small' }),
      { ...publicJwk(keys.evenE), kid: 'even-e', e: 'AQAA' },
      { ...(keys.leaked.export({ format: 'jwk' }) as JsonWebKey), kid: 'leaked' },
      { ...(createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).export({ format: 'jwk' }) as JsonWebKey), kid: 'ec' },
    ];
  });
  afterAll(async () => {
    await stub?.close();
    await dev?.stop();
  });

  const claims = () => accessClaims(dev.issuer, sub);
  const signed = (kid: string, key: string) => forgeJwt({ alg: 'RS256', kid }, claims(), { kind: 'rsa', key: keys[key] });
  const ACCEPTED: [string, () => string][] = [
    ["Fief's key, behind an encrypt-only and an e = 1 entry under its kid", () => signed(dev.signingKey.kid, 'genuine')],
    ['a key with exponent 3', () => signed('e3', 'e3')],
    ['a key with key_ops ["verify"], use sig and alg RS256', () => signed('ops-verify', 'opsVerify')],
    ['a key with key_ops ["sign", "verify"]', () => signed('ops-sign-verify', 'opsSignVerify')],
    ['the first of two fit keys under one kid', () => signed('twins', 'twinA')],
    ['the second of two fit keys under one kid', () => signed('twins', 'twinB')],
  ];
  const REFUSED: [string, () => string][] = [
    ['a forgery under an e = 1 key (no private key needed)', () => forgeWithExponentOne({ alg: 'RS256', kid: 'e1' }, claims())],
    ["an e = 1 forgery under Fief's kid", () => forgeWithExponentOne({ alg: 'RS256', kid: dev.signingKey.kid }, claims())],
    ["the encrypt-only key's signature under Fief's kid", () => signed(dev.signingKey.kid, 'opsEncrypt')],
    ['a key with key_ops ["encrypt"]', () => signed('ops-encrypt', 'opsEncrypt')],
    ['a key whose key_ops is not an array', () => signed('ops-string', 'opsString')],
    ['a key with use enc', () => signed('use-enc', 'useEnc')],
    ['a key with alg RS512', () => signed('alg-rs512', 'algRs512')],
    ['a 1024-bit key', () => signed('small', 'small')],
    ['a key with an even exponent', () => signed('even-e', 'evenE')],
    ['a published private key', () => signed('leaked', 'leaked')],
    ['an EC key', () => signed('ec', 'other')],
    ['a third key under the kid of two fit ones', () => signed('twins', 'other')],
  ];

  describe('through FiefClient', () => {
    let fief: FiefClient;
    beforeAll(() => {
      fief = new FiefClient({ baseURL: stub.baseURL, ...CLIENT, tokenCache: false });
    });

    it.each(ACCEPTED)('accepts %s', async (_name, token) => {
      expect((await fief.verifyAccessToken(token())).id).toBe(sub);
    });

    it.each(REFUSED)('refuses %s as invalid at once: no refetch, never unavailable', async (_name, token) => {
      await fief.verifyAccessToken(signed(dev.signingKey.kid, 'genuine')); // the keys are fetched
      const fetches = stub.hits.get('/.well-known/jwks.json');
      // Issued now, i.e. after the key fetch: an unknown kid would be "maybe new" (503); a refused one is known.
      const error = await fief.verifyAccessToken(token()).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FiefAccessTokenInvalid);
      expect(error).not.toBeInstanceOf(FiefUnavailableError);
      expect(stub.hits.get('/.well-known/jwks.json')).toBe(fetches);
    });

    it('says why a published key is refused', async () => {
      const refusal = (token: string) => fief.verifyAccessToken(token).catch((error: Error) => error.message);
      expect(await refusal(forgeWithExponentOne({ alg: 'RS256', kid: 'e1' }, claims()))).toMatch(/"e1".*exponent/);
      expect(await refusal(signed('small', 'small'))).toMatch(/"small".*1024 bits/);
      expect(await refusal(signed('ops-encrypt', 'opsEncrypt'))).toMatch(/"ops-encrypt".*key_ops/);
      expect(await refusal(signed('use-enc', 'useEnc'))).toMatch(/"use-enc".*use/);
      expect(await refusal(signed('alg-rs512', 'algRs512'))).toMatch(/"alg-rs512".*alg/);
    });

    it('refuses a kid with more fit keys than it tries (bounded work per token)', async () => {
      const crowd = Array.from({ length: 5 }, () => rsa());
      const saved = jwks;
      jwks = [...saved, ...crowd.map((key) => publicJwk(key, { kid: 'crowd' }))];
      try {
        const crowded = new FiefClient({ baseURL: stub.baseURL, ...CLIENT });
        const token = forgeJwt({ alg: 'RS256', kid: 'crowd' }, claims(), { kind: 'rsa', key: crowd[0] });
        await expect(crowded.verifyAccessToken(token)).rejects.toThrow(/"crowd".*5 keys/);
        expect((await crowded.verifyAccessToken(signed('twins', 'twinB'))).id).toBe(sub);
      } finally {
        jwks = saved;
      }
    });
  });

  describe.each(ADAPTERS)('through FiefAuthGuard on %s', (adapter) => {
    let app: INestApplication;
    let url: string;
    beforeAll(async () => {
      ({ app, url } = await startApp(adapter, { imports: [FiefModule.forRoot({ baseURL: stub.baseURL, ...CLIENT })], controllers: [TargetController] }));
    });
    afterAll(() => app?.close());
    const get = (token: string) => fetch(`${url}/target/plain`, { headers: { authorization: `Bearer ${token}` } });

    it.each(ACCEPTED)('accepts %s', async (_name, token) => {
      const before = handlerCalls.plain;
      expect((await get(token())).status).toBe(200);
      expect(handlerCalls.plain).toBe(before + 1);
    });

    it.each(REFUSED)('answers 401 invalid_token to %s, with no refetch', async (_name, token) => {
      expect((await get(signed(dev.signingKey.kid, 'genuine'))).status).toBe(200);
      const fetches = stub.hits.get('/.well-known/jwks.json');
      await expectRefused(() => get(token()), 401, 'invalid_token');
      expect(stub.hits.get('/.well-known/jwks.json')).toBe(fetches);
    });
  });
});

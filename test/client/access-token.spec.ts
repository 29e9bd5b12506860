/**
 * Strict access-token verification (RFC 8725, RFC 9068 spirit, Fief's token shape): tokens forged
 * with the dev server's real signing key and with other keys, checked by a client talking to the
 * live dev server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac, createPublicKey } from 'node:crypto';
import { base64url, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FiefAccessTokenExpired, FiefAccessTokenInvalid } from '../../lib/client/errors.js';
import { DEFAULT_DEV_CLIENT, FiefDevServer } from '../../lib/testing/index.js';

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

describe('FiefClient.verifyAccessToken refuses what is not an access token of this client', () => {
  let dev: FiefDevServer;
  let fief: FiefClient;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [DEFAULT_DEV_CLIENT, { clientId: 'other-client', clientSecret: 'other-secret' }] });
    await dev.start();
    fief = new FiefClient({
      baseURL: dev.baseURL,
      clientId: DEFAULT_DEV_CLIENT.clientId,
      clientSecret: DEFAULT_DEV_CLIENT.clientSecret,
      clockTolerance: 5,
    });
  });
  afterAll(() => dev.stop());

  const refused = async (token: string, message: RegExp, kind: typeof FiefAccessTokenInvalid = FiefAccessTokenInvalid) => {
    const error = await fief.verifyAccessToken(token).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(kind);
    expect((error as Error).message).toMatch(message);
  };

  it('accepts a genuine Fief access token and maps it', async () => {
    const token = await dev.issueAccessToken({ scope: ['openid', 'castles'], acr: '1' });
    const info = await fief.verifyAccessToken(token);
    expect(info).toEqual({
      id: dev.users[0].id,
      scope: ['openid', 'castles'],
      acr: '1',
      permissions: ['castles:read', 'castles:create'],
      access_token: token,
      exp: decodeJwt(token).exp,
    });
  });

  it.each([
    ['a wrong issuer', { iss: 'https://evil.example' }, /iss/],
    ['no issuer', { iss: undefined }, /iss/],
    ['a wrong audience', { aud: ['another-client'] }, /aud/],
    ['no audience', { aud: undefined }, /aud/],
    ['a foreign azp although aud lists us', { aud: ['fief-dev-client', 'other-client'], azp: 'other-client' }, /azp/],
    ['no exp', { exp: undefined }, /exp/],
    ['no iat', { iat: undefined }, /iat/],
    ['no sub', { sub: undefined }, /sub/],
    ['an iat in the future', { iat: Math.floor(Date.now() / 1000) + 3600 }, /iat/],
    ['an nbf in the future', { nbf: Math.floor(Date.now() / 1000) + 3600 }, /nbf/],
    ['no scope', { scope: undefined }, /scope/],
    ['a non-string scope', { scope: ['openid'] }, /scope/],
    ['a nonce (ID token claim)', { nonce: 'n' }, /ID token/],
    ['an email (ID token claim)', { email: 'anne@bretagne.duchy' }, /ID token/],
    ['an at_hash (ID token claim)', { at_hash: 'x' }, /ID token/],
    ['non-string permissions', { permissions: [1, 2] }, /permissions/],
    ['an unknown acr', { acr: '2' }, /acr/],
  ])('refuses a token with %s', async (_name, claims, message) => {
    await refused(await dev.issueAccessToken({ claims }), message);
  });

  it('accepts a token for an allowed audience, with azp naming it', async () => {
    const other = await dev.issueAccessToken({ clientId: 'other-client' });
    await refused(other, /aud/);
    const api = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client', allowedAudiences: ['other-client'] });
    expect((await api.verifyAccessToken(other)).id).toBe(dev.users[0].id);
  });

  it('refuses an ID token presented as an access token', async () => {
    await refused(await dev.issueIdToken(), /scope|ID token/);
    await refused(await dev.issueIdToken({ claims: { scope: 'openid' } }), /ID token/);
  });

  it('refuses an expired token with FiefAccessTokenExpired, but tolerates clock skew', async () => {
    await refused(await dev.issueAccessToken({ expiresIn: -60 }), /expired/, FiefAccessTokenExpired);
    expect(await fief.verifyAccessToken(await dev.issueAccessToken({ expiresIn: -2 }))).toMatchObject({ id: dev.users[0].id });
  });

  it.each([
    ['typ id_token', { typ: 'JWT+id' }, /typ/],
    ['a jku header', { jku: 'https://evil.example/jwks.json' }, /jku/],
    ['an x5u header', { x5u: 'https://evil.example/cert.pem' }, /x5u/],
    ['an embedded jwk', { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } }, /jwk/],
    ['no kid', { kid: undefined }, /kid/],
  ])('refuses a token whose header has %s', async (_name, header, message) => {
    await refused(await dev.issueAccessToken({ header }), message);
  });

  it('refuses a token with a crit header, even one signed by the genuine key', async () => {
    // jose refuses to sign an unknown critical extension, so this one is signed by hand with the dev server's key.
    const header = encode({ alg: 'RS256', kid: dev.signingKey.kid, crit: ['exp'], exp: now() + 60 });
    const payload = (await dev.issueAccessToken()).split('.')[1];
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', dev.signingKey.privateKey, new TextEncoder().encode(`${header}.${payload}`));
    await refused(`${header}.${payload}.${base64url.encode(new Uint8Array(signature))}`, /crit/);
  });

  it('accepts the typ values of RFC 9068 and plain JWT', async () => {
    for (const typ of ['at+jwt', 'application/at+jwt', 'JWT']) {
      expect((await fief.verifyAccessToken(await dev.issueAccessToken({ header: { typ } }))).id).toBe(dev.users[0].id);
    }
  });

  it('refuses alg none and an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const genuine = await dev.issueAccessToken();
    const [, payload] = genuine.split('.');
    const kid = dev.signingKey.kid;
    await refused(`${encode({ alg: 'none', kid })}.${payload}.`, /alg/);
    const publicPem = createPublicKey({ key: dev.signingKey.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const header = encode({ alg: 'HS256', kid });
    const signature = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
    await refused(`${header}.${payload}.${signature}`, /alg/);
  });

  it('refuses a token signed by another key under the genuine kid, and a tampered payload', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const claims = decodeJwt(await dev.issueAccessToken());
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: dev.signingKey.kid }).sign(privateKey);
    await refused(forged, /signature/);

    const [header, , signature] = (await dev.issueAccessToken()).split('.');
    const tampered = encode({ ...claims, permissions: ['castles:read', 'castles:create', 'castles:burn'] });
    await refused(`${header}.${tampered}.${signature}`, /signature/);
  });

  it('refuses re-encodings of a valid token: padding, or spare bits set in a last character', async () => {
    const token = await dev.issueAccessToken();
    await expect(fief.verifyAccessToken(token)).resolves.toBeDefined();
    const [header, payload, signature] = token.split('.');
    // 342 signature characters: the last one carries 4 spare bits, which decoders ignore.
    const last = signature.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1];
    expect(Buffer.from(signature.slice(0, -1) + sibling, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    await refused(`${token}==`, /canonical/);
    await refused(`${header}.${payload}.${signature.slice(0, -1)}${sibling}`, /canonical/);
    await refused(`${header}=.${payload}.${signature}`, /canonical/);
  });

  it('refuses garbage clearly', async () => {
    for (const garbage of ['', 'not-a-jwt', 'a.b.c', 'a.b.c.d.e', '...']) {
      await expect(fief.verifyAccessToken(garbage)).rejects.toBeInstanceOf(FiefAccessTokenInvalid);
    }
    await expect(fief.verifyAccessToken(undefined as unknown as string)).rejects.toBeInstanceOf(FiefAccessTokenInvalid);
  });

  it('pins the issuer given in the options over the discovered one', async () => {
    const pinned = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client', issuer: 'https://fief.example' });
    await expect(pinned.verifyAccessToken(await dev.issueAccessToken())).rejects.toThrow(/iss/);
    expect((await pinned.verifyAccessToken(await dev.issueAccessToken({ claims: { iss: 'https://fief.example' } }))).acr).toBe('0');
  });

  it('refuses a token signed by a key the JWKS does not publish (unknown kid)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    // Issued before the client fetched the key set: an unknown kid is then a verdict, not a maybe-new key.
    const claims = decodeJwt(await dev.issueAccessToken({ claims: { iat: now() - 120 } }));
    const kid = (await exportJWK(publicKey)).n!.slice(0, 16);
    await refused(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey), /no key/);
  });
});

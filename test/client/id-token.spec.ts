/**
 * ID-token verification in authCallback/authRefreshToken (OIDC Core 3.1.3.7). The dev server only
 * issues correct ID tokens, so a small real HTTP server plays Fief's token endpoint and answers ID
 * tokens forged with the dev server's own key (its discovery points at the dev server's JWKS).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { base64url, CompactEncrypt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createHash } from 'node:crypto';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FiefIdTokenInvalid, FiefUnavailableError } from '../../lib/client/errors.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { sendJson, startStubServer } from './stub-http-server.js';

const REDIRECT = 'http://127.0.0.1:9999/callback';
const ACCESS_TOKEN = 'an-opaque-access-token-for-at-hash';
const halfHash = (value: string) => base64url.encode(createHash('sha256').update(value).digest().subarray(0, 16));

describe('FiefClient ID token verification', () => {
  let dev: FiefDevServer;
  let stub: Awaited<ReturnType<typeof startStubServer>>;
  let tokenResponse: Record<string, unknown> = {};
  let fief: FiefClient;

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' }, { clientId: 'other-client' }] });
    await dev.start();
    stub = await startStubServer((req, res, base) => {
      if (req.url === '/.well-known/openid-configuration') {
        return sendJson(res, 200, {
          issuer: dev.issuer,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/api/token`,
          userinfo_endpoint: `${base}/api/userinfo`,
          jwks_uri: `${dev.baseURL}/.well-known/jwks.json`,
        });
      }
      sendJson(res, 200, tokenResponse);
    });
    fief = new FiefClient({ baseURL: stub.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret', clockTolerance: 5 });
  });
  afterAll(async () => {
    await stub.close();
    await dev.stop();
  });

  const answer = (idToken: string) => {
    tokenResponse = { access_token: ACCESS_TOKEN, id_token: idToken, token_type: 'bearer', expires_in: 3600 };
  };
  const callbackError = (params: { nonce?: string } = {}, code = 'the-code') =>
    fief.authCallback(code, REDIRECT, params).catch((error: unknown) => error);

  it('accepts a genuine ID token with matching nonce, at_hash and c_hash', async () => {
    answer(await dev.issueIdToken({ nonce: 'n-1', claims: { at_hash: halfHash(ACCESS_TOKEN), c_hash: halfHash('the-code') } }));
    const [tokens, user] = await fief.authCallback('the-code', REDIRECT, { nonce: 'n-1' });
    expect(tokens.access_token).toBe(ACCESS_TOKEN);
    expect(user).toMatchObject({ email: 'anne@bretagne.duchy', tenant_id: dev.tenantId, nonce: 'n-1' });
    const [, refreshed] = await fief.authRefreshToken('a-refresh-token');
    expect(refreshed.sub).toBe(user.sub);
  });

  it.each([
    ['a wrong issuer', { iss: 'https://evil.example' }, /iss/],
    ['another audience', { aud: ['other-client'] }, /aud/],
    ['a foreign azp', { aud: ['fief-dev-client', 'other-client'], azp: 'other-client' }, /azp/],
    ['several audiences and no azp', { aud: ['fief-dev-client', 'other-client'], azp: undefined }, /several audiences/],
    ['an expiry in the past', { exp: Math.floor(Date.now() / 1000) - 600 }, /exp/],
    ['no exp', { exp: undefined }, /exp/],
    ['an iat in the future', { iat: Math.floor(Date.now() / 1000) + 600 }, /iat/],
    ['an at_hash of another access token', { at_hash: halfHash('another-token') }, /at_hash/],
    ['a c_hash of another code', { c_hash: halfHash('another-code') }, /c_hash/],
  ])('refuses an ID token with %s', async (_name, claims, message) => {
    answer(await dev.issueIdToken({ claims }));
    const error = await callbackError();
    expect(error).toBeInstanceOf(FiefIdTokenInvalid);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a missing or different nonce when one was sent', async () => {
    answer(await dev.issueIdToken());
    expect(await callbackError({ nonce: 'sent' })).toBeInstanceOf(FiefIdTokenInvalid);
    answer(await dev.issueIdToken({ nonce: 'other' }));
    expect(await callbackError({ nonce: 'sent' })).toBeInstanceOf(FiefIdTokenInvalid);
  });

  it('refuses an ID token signed by another key, and garbage', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const genuine = await dev.issueIdToken();
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(genuine.split('.')[1])));
    answer(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: dev.signingKey.kid }).sign(privateKey));
    expect(await callbackError()).toBeInstanceOf(FiefIdTokenInvalid);
    answer('not.a.jwt');
    expect(await callbackError()).toBeInstanceOf(FiefIdTokenInvalid);
  });

  it('with an encryptionKey, accepts only RSA-OAEP-256/A256CBC-HS512 JWEs around a genuine signed token', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const decrypting = new FiefClient({
      baseURL: stub.baseURL,
      clientId: 'fief-dev-client',
      clientSecret: 'fief-dev-secret',
      encryptionKey: JSON.stringify(await exportJWK(privateKey)),
    });
    const encrypt = (jws: string, enc = 'A256CBC-HS512') =>
      new CompactEncrypt(new TextEncoder().encode(jws)).setProtectedHeader({ alg: 'RSA-OAEP-256', enc, cty: 'JWT' }).encrypt(publicKey);
    const callback = () => decrypting.authCallback('the-code', REDIRECT).catch((error: unknown) => error);

    answer(await encrypt(await dev.issueIdToken()));
    expect(await decrypting.authCallback('the-code', REDIRECT)).toEqual([
      expect.objectContaining({ access_token: ACCESS_TOKEN }),
      expect.objectContaining({ email: 'anne@bretagne.duchy' }),
    ]);

    const refusals: [string, RegExp][] = [
      [await dev.issueIdToken(), /not encrypted/],
      [await encrypt(await dev.issueIdToken(), 'A128GCM'), /cannot be decrypted/],
      [await encrypt(await dev.issueIdToken({ claims: { aud: ['other-client'] } })), /aud/],
    ];
    const { privateKey: foreignSigner } = await generateKeyPair('RS256');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode((await dev.issueIdToken()).split('.')[1])));
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: dev.signingKey.kid }).sign(foreignSigner);
    refusals.push([await encrypt(forged), /signature/]);
    for (const [idToken, message] of refusals) {
      answer(idToken);
      const error = await callback();
      expect(error).toBeInstanceOf(FiefIdTokenInvalid);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('maps a token response without the tokens to FiefUnavailableError', async () => {
    tokenResponse = { token_type: 'bearer' };
    expect(await callbackError()).toBeInstanceOf(FiefUnavailableError);
  });
});

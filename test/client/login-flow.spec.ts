/**
 * FiefClient against a live FiefDevServer over real HTTP: the whole login, the user endpoints,
 * refresh, encrypted ID tokens, and how Fief's refusals surface.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { FiefClient } from '../../lib/client/fief-client.js';
import {
  FiefAccessTokenACRTooLow,
  FiefAccessTokenMissingPermission,
  FiefAccessTokenMissingScope,
  FiefError,
  FiefIdTokenInvalid,
  FiefRequestError,
} from '../../lib/client/errors.js';
import { FiefACR } from '../../lib/client/types.js';
import { DEFAULT_DEV_CLIENT, FiefDevServer } from '../../lib/testing/index.js';

const REDIRECT = 'http://127.0.0.1:9999/callback';
const ANNE = 'anne@bretagne.duchy';

describe('FiefClient login flow against the dev server', () => {
  let dev: FiefDevServer;
  let fief: FiefClient;
  let encryptionKey: string;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    encryptionKey = JSON.stringify(await exportJWK(privateKey));
    dev = new FiefDevServer({
      clients: [
        DEFAULT_DEV_CLIENT,
        { clientId: 'encrypting-client', clientSecret: 'encrypting secret+&=', encryptionKey: await exportJWK(publicKey) },
        { clientId: 'public-client' },
      ],
    });
    await dev.start();
    fief = new FiefClient({ baseURL: dev.baseURL, clientId: DEFAULT_DEV_CLIENT.clientId, clientSecret: DEFAULT_DEV_CLIENT.clientSecret });
  });
  afterAll(() => dev.stop());

  /** authUrl → headless login → the code, with PKCE S256 and a nonce. */
  async function login(client: FiefClient, email: string, scope: string[] = []) {
    const verifier = await client.generateCodeVerifier();
    const nonce = 'nonce-' + Math.random().toString(36).slice(2);
    const url = await client.authUrl(REDIRECT, {
      state: 'some-state',
      scope,
      nonce,
      codeChallenge: await client.getCodeChallenge(verifier),
      codeChallengeMethod: 'S256',
      extrasParams: { login_hint: email },
    });
    const result = await dev.login(url);
    expect(result.error).toBeUndefined();
    expect(result.state).toBe('some-state');
    return { code: result.code!, verifier, nonce };
  }

  it('logs in with PKCE, validates, reads and updates the user, refreshes, and builds the logout URL', async () => {
    const { code, verifier, nonce } = await login(fief, ANNE, ['offline_access']);
    const [tokens, user] = await fief.authCallback(code, REDIRECT, { codeVerifier: verifier, nonce });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(typeof tokens.refresh_token).toBe('string');
    expect(user).toMatchObject({ email: ANNE, tenant_id: dev.tenantId, nonce, fields: { first_name: 'Anne' } });

    const info = await fief.validateAccessToken(tokens.access_token, {
      requiredScope: ['openid', 'offline_access'],
      requiredAcr: FiefACR.LEVEL_ONE,
      requiredPermissions: ['castles:read', 'castles:create'],
    });
    expect(info).toEqual({
      id: user.sub,
      scope: expect.arrayContaining(['openid', 'offline_access']),
      acr: '1',
      permissions: ['castles:read', 'castles:create'],
      access_token: tokens.access_token,
      exp: decodeJwt(tokens.access_token).exp,
    });

    expect(await fief.userinfo(tokens.access_token)).toMatchObject({ sub: user.sub, email: ANNE });
    const updated = await fief.updateProfile(tokens.access_token, { fields: { last_name: 'De Bretagne et de France' } });
    expect(updated.fields).toMatchObject({ first_name: 'Anne', last_name: 'De Bretagne et de France' });
    expect(await fief.changePassword(tokens.access_token, 'hermine-1514')).toMatchObject({ sub: user.sub });

    await fief.emailChange(tokens.access_token, 'anne@nantes.city');
    const verificationCode = dev.getEmailVerificationCode(user.sub)!;
    expect(await fief.emailVerify(tokens.access_token, verificationCode)).toMatchObject({ email: 'anne@nantes.city' });
    await fief.updateProfile(tokens.access_token, { email: ANNE });

    const [refreshed, refreshedUser] = await fief.authRefreshToken(tokens.refresh_token!, { scope: ['openid', 'offline_access'] });
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshedUser.sub).toBe(user.sub);
    // Fief answers a refresh with ACR 0: a fresh login is needed for sensitive actions.
    await expect(fief.validateAccessToken(refreshed.access_token, { requiredAcr: FiefACR.LEVEL_ONE })).rejects.toBeInstanceOf(
      FiefAccessTokenACRTooLow,
    );
    // The rotated refresh token is spent.
    const spent = await fief.authRefreshToken(tokens.refresh_token!).catch((error: unknown) => error);
    expect(spent).toBeInstanceOf(FiefRequestError);
    expect((spent as FiefRequestError).status).toBe(400);
    expect((spent as FiefRequestError).detail).toContain('invalid_grant');

    const logout = new URL(await fief.logoutUrl(REDIRECT));
    expect(`${logout.origin}${logout.pathname}`).toBe(`${dev.baseURL}/logout`);
    expect(logout.searchParams.get('redirect_uri')).toBe(REDIRECT);
    const response = await fetch(logout, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(REDIRECT);
  });

  it('refuses requirements the token does not meet, with the matching error', async () => {
    const token = await dev.issueAccessToken({ user: 'guest@example.com', scope: ['openid'] });
    await expect(fief.validateAccessToken(token, { requiredScope: ['offline_access'] })).rejects.toBeInstanceOf(FiefAccessTokenMissingScope);
    await expect(fief.validateAccessToken(token, { requiredPermissions: ['castles:create'] })).rejects.toBeInstanceOf(
      FiefAccessTokenMissingPermission,
    );
    await expect(fief.validateAccessToken(token, { requiredAcr: FiefACR.LEVEL_ONE })).rejects.toBeInstanceOf(FiefAccessTokenACRTooLow);
    expect((await fief.validateAccessToken(token, { requiredPermissions: ['castles:read'] })).permissions).toEqual(['castles:read']);
  });

  it('refuses a code exchanged twice, a wrong verifier and a wrong redirect URI with FiefRequestError', async () => {
    const first = await login(fief, ANNE);
    await fief.authCallback(first.code, REDIRECT, { codeVerifier: first.verifier });
    const reused = await fief.authCallback(first.code, REDIRECT, { codeVerifier: first.verifier }).catch((error: unknown) => error);
    expect(reused).toBeInstanceOf(FiefRequestError);
    expect((reused as FiefRequestError).status).toBe(400);

    const second = await login(fief, ANNE);
    const badVerifier = await fief.authCallback(second.code, REDIRECT, { codeVerifier: 'x'.repeat(43) }).catch((error: unknown) => error);
    expect(badVerifier).toBeInstanceOf(FiefRequestError);

    const third = await login(fief, ANNE);
    const otherRedirect = await fief
      .authCallback(third.code, 'http://127.0.0.1:9999/elsewhere', { codeVerifier: third.verifier })
      .catch((error: unknown) => error);
    expect(otherRedirect).toBeInstanceOf(FiefRequestError);
  });

  it('narrows the scope on refresh: without offline_access Fief issues no new refresh token', async () => {
    const { code, verifier } = await login(fief, ANNE, ['offline_access']);
    const [tokens] = await fief.authCallback(code, REDIRECT, { codeVerifier: verifier });
    const [narrowed, user] = await fief.authRefreshToken(tokens.refresh_token!, { scope: ['openid'] });
    expect(user.email).toBe(ANNE);
    expect((await fief.validateAccessToken(narrowed.access_token)).scope).toEqual(['openid']);
    expect(narrowed.refresh_token).toBeUndefined();
  });

  it('refuses an ID token whose nonce is not the one sent', async () => {
    const { code, verifier } = await login(fief, ANNE);
    await expect(fief.authCallback(code, REDIRECT, { codeVerifier: verifier, nonce: 'another-nonce' })).rejects.toBeInstanceOf(
      FiefIdTokenInvalid,
    );
  });

  it('answers a wrong client secret with FiefRequestError (invalid_client)', async () => {
    const wrongSecret = new FiefClient({ baseURL: dev.baseURL, clientId: DEFAULT_DEV_CLIENT.clientId, clientSecret: 'not-the-secret' });
    const { code, verifier } = await login(wrongSecret, ANNE);
    const error = await wrongSecret.authCallback(code, REDIRECT, { codeVerifier: verifier }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FiefRequestError);
    expect((error as FiefRequestError).detail).toContain('invalid_client');
  });

  it('decrypts and verifies encrypted ID tokens, on callback and on refresh (secret with reserved characters)', async () => {
    const encrypting = new FiefClient({
      baseURL: dev.baseURL,
      clientId: 'encrypting-client',
      clientSecret: 'encrypting secret+&=',
      encryptionKey,
    });
    const { code, verifier, nonce } = await login(encrypting, 'guest@example.com', ['offline_access']);
    const [tokens, user] = await encrypting.authCallback(code, REDIRECT, { codeVerifier: verifier, nonce });
    expect(tokens.id_token.split('.')).toHaveLength(5);
    expect(user).toMatchObject({ email: 'guest@example.com', aud: 'encrypting-client', nonce });
    const [, refreshedUser] = await encrypting.authRefreshToken(tokens.refresh_token!);
    expect(refreshedUser.email).toBe('guest@example.com');

    // Without the key the encrypted ID token cannot be trusted; with a wrong key it cannot be read.
    const { privateKey: otherKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const wrongKey = new FiefClient({
      baseURL: dev.baseURL,
      clientId: 'encrypting-client',
      clientSecret: 'encrypting secret+&=',
      encryptionKey: JSON.stringify(await exportJWK(otherKey)),
    });
    const again = await login(wrongKey, 'guest@example.com');
    await expect(wrongKey.authCallback(again.code, REDIRECT, { codeVerifier: again.verifier })).rejects.toThrow(/cannot be decrypted/);
    const noKey = new FiefClient({ baseURL: dev.baseURL, clientId: 'encrypting-client', clientSecret: 'encrypting secret+&=' });
    const third = await login(noKey, 'guest@example.com');
    await expect(noKey.authCallback(third.code, REDIRECT, { codeVerifier: third.verifier })).rejects.toThrow(
      /encrypted but no encryptionKey/,
    );
  });

  it('logs in a public client with PKCE and no secret', async () => {
    const publicClient = new FiefClient({ baseURL: dev.baseURL, clientId: 'public-client' });
    const { code, verifier } = await login(publicClient, ANNE);
    const [tokens, user] = await publicClient.authCallback(code, REDIRECT, { codeVerifier: verifier });
    expect(user.email).toBe(ANNE);
    expect((await publicClient.validateAccessToken(tokens.access_token)).id).toBe(user.sub);
    // Another client of the same tenant does not accept this client's token (defect 3 of the official client).
    await expect(fief.validateAccessToken(tokens.access_token)).rejects.toThrow(/aud/);
  });

  it('surfaces the user endpoints refusals as FiefRequestError with Fief status and body', async () => {
    const levelZero = await dev.issueAccessToken({ user: ANNE, acr: '0' });
    const tooLow = await fief.changePassword(levelZero, 'hermine-1514').catch((error: unknown) => error);
    expect(tooLow).toBeInstanceOf(FiefRequestError);
    expect((tooLow as FiefRequestError).status).toBe(403);
    const expired = await dev.issueAccessToken({ user: ANNE, expiresIn: -60 });
    const unauthorized = await fief.userinfo(expired).catch((error: unknown) => error);
    expect((unauthorized as FiefRequestError).status).toBe(401);
    await expect(fief.updateProfile(levelZero, [] as unknown as Record<string, unknown>)).rejects.toBeInstanceOf(FiefError);
  });
});

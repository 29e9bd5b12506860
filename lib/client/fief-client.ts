import { observeVerification, recordVerification, verificationOutcome } from '../telemetry/index.js';
import { AccessTokenVerifier } from './access-token-verifier.js';
import { checkAccessTokenInfo } from './access-token-requirements.js';
import { checkRedirectUri, nonEmptyString, resolveClientOptions } from './client-options.js';
import { FiefAccessTokenInvalid, FiefError } from './errors.js';
import { FiefMetadata } from './fief-metadata.js';
import { FiefOAuth } from './fief-oauth.js';
import { IdTokenVerifier } from './id-token-verifier.js';
import { generateCodeVerifier, getCodeChallenge } from './pkce.js';
import type {
  FiefAccessTokenInfo,
  FiefAuthCallbackParameters,
  FiefAuthUrlParameters,
  FiefClientOptions,
  FiefRefreshParameters,
  FiefTokenResponse,
  FiefUserInfo,
  FiefValidateParameters,
} from './types.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

export { checkAccessTokenInfo } from './access-token-requirements.js';

/**
 * A client of one Fief tenant: OAuth2 login with PKCE, token refresh, strict access-token
 * validation, and the user endpoints. Framework-free (jose + fetch), and it does no I/O until the
 * first call needs Fief.
 *
 * @example
 * const fief = new FiefClient({ baseURL: 'https://example.fief.dev', clientId: 'ID', clientSecret: 'SECRET' });
 * const verifier = await fief.generateCodeVerifier();
 * const url = await fief.authUrl('http://localhost:3000/callback', {
 *   scope: ['openid', 'offline_access'],
 *   codeChallenge: await fief.getCodeChallenge(verifier),
 *   codeChallengeMethod: 'S256',
 * });
 * // …after the redirect back:
 * const [tokens, user] = await fief.authCallback(code, 'http://localhost:3000/callback', { codeVerifier: verifier });
 * const info = await fief.validateAccessToken(tokens.access_token, { requiredPermissions: ['castles:read'] });
 */
export class FiefClient {
  /** Base URL of the tenant, without a trailing slash. */
  readonly baseURL: string;
  /** ID of the Fief client. */
  readonly clientId: string;

  private readonly metadata: FiefMetadata;
  private readonly oauth: FiefOAuth;
  private readonly accessTokens: AccessTokenVerifier;
  private readonly idTokens: IdTokenVerifier;
  private readonly tokenCache?: VerifiedTokenCache;
  private readonly tokenCacheMaxAge: number;
  /** The tenant named in telemetry, when the module serves several. */
  private readonly tenant?: string;
  /** Verifications in progress, by token: concurrent first uses of a token share one. */
  private readonly verifying = new Map<string, Promise<FiefAccessTokenInfo>>();

  /**
   * Checks the options synchronously, so a misconfiguration fails at start-up rather than at the
   * first request. Does no I/O.
   *
   * @throws FiefError with a message naming the bad option.
   */
  constructor(options: FiefClientOptions) {
    const resolved = resolveClientOptions(options);
    this.baseURL = resolved.baseURL;
    this.clientId = resolved.clientId;
    const { clockTolerance } = resolved;
    this.metadata = new FiefMetadata(resolved.baseURL, resolved.http, resolved.metadataTtl, resolved.jwksCooldown, clockTolerance * 1000);
    this.oauth = new FiefOAuth(this.metadata, resolved.http, resolved.clientId, resolved.clientSecret);
    const context = { metadata: this.metadata, issuer: resolved.issuer, clientId: resolved.clientId, audiences: resolved.audiences, clockTolerance, maxTokenLifetime: resolved.maxTokenLifetime };
    this.accessTokens = new AccessTokenVerifier(context);
    this.idTokens = new IdTokenVerifier(context, resolved.encryptionJwk);
    this.tokenCacheMaxAge = resolved.tokenCache?.maxAge ?? 0;
    this.tenant = resolved.http.tenant;
    if (resolved.tokenCache) this.tokenCache = new VerifiedTokenCache(resolved.tokenCache.maxEntries, resolved.tokenCache.maxBytes, this.tenant);
  }

  /**
   * The URL of Fief's login page. `openid` is always among the scopes.
   *
   * @example
   * await fief.authUrl('http://localhost:3000/callback', { state, nonce, codeChallenge, codeChallengeMethod: 'S256' });
   */
  async authUrl(redirectUri: string, params: FiefAuthUrlParameters = {}): Promise<string> {
    return this.oauth.authUrl(redirectUri, params);
  }

  /**
   * Exchanges an authorization code for tokens, and verifies the ID token (decrypting it first when
   * `encryptionKey` is set).
   *
   * @returns the tokens and the user's claims from the ID token.
   * @throws FiefRequestError when Fief refuses the code (e.g. 400 `invalid_grant`).
   * @throws FiefIdTokenInvalid when the ID token fails verification (including a `nonce` mismatch).
   * @throws FiefUnavailableError when Fief cannot be reached or answers garbage.
   */
  async authCallback(
    code: string,
    redirectUri: string,
    params: FiefAuthCallbackParameters = {},
  ): Promise<[FiefTokenResponse, FiefUserInfo]> {
    nonEmptyString(code, 'code');
    checkRedirectUri(redirectUri);
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    if (params.codeVerifier !== undefined) form.set('code_verifier', nonEmptyString(params.codeVerifier, 'codeVerifier'));
    const tokens = await this.oauth.requestTokens(form);
    const userinfo = await this.idTokens.verify(tokens, { nonce: params.nonce, code });
    return [tokens, userinfo];
  }

  /**
   * Gets fresh tokens with a refresh token, authenticating with the client secret (Fief rotates the
   * refresh token: keep the new one).
   *
   * @throws FiefRequestError when Fief refuses the refresh token (400 `invalid_grant`).
   * @throws FiefIdTokenInvalid when the new ID token fails verification.
   * @throws FiefUnavailableError when Fief cannot be reached or answers garbage.
   */
  async authRefreshToken(refreshToken: string, params: FiefRefreshParameters = {}): Promise<[FiefTokenResponse, FiefUserInfo]> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: nonEmptyString(refreshToken, 'refreshToken') });
    if (params.scope !== undefined) form.set('scope', params.scope.join(' '));
    const tokens = await this.oauth.requestTokens(form);
    const userinfo = await this.idTokens.verify(tokens, {});
    return [tokens, userinfo];
  }

  /**
   * Verifies an access token ({@link verifyAccessToken}) and checks the requirements
   * ({@link checkAccessTokenInfo}).
   *
   * @example
   * const info = await fief.validateAccessToken(token, { requiredScope: ['openid'], requiredAcr: FiefACR.LEVEL_ONE });
   * @throws FiefAccessTokenExpired, FiefAccessTokenInvalid, FiefAccessTokenMissingScope,
   *   FiefAccessTokenACRTooLow, FiefAccessTokenMissingPermission, FiefUnavailableError.
   */
  async validateAccessToken(accessToken: string, params: FiefValidateParameters = {}): Promise<FiefAccessTokenInfo> {
    const info = await this.verifyAccessToken(accessToken);
    checkAccessTokenInfo(info, params);
    return info;
  }

  /**
   * Verifies signature/claims only (no scope/permission/acr requirement); results cached per token
   * (bounded, expire ≤ token exp). The token must be an RS256 JWS from the issuer, for this client
   * (`aud` and `azp`), within `exp`/`nbf`/`iat`, and shaped like a Fief access token.
   *
   * The returned object is frozen and shared between calls with the same token.
   *
   * @throws FiefAccessTokenExpired when the token has expired.
   * @throws FiefAccessTokenInvalid when it is anything but a valid access token of this client.
   * @throws FiefUnavailableError when Fief's keys are needed and cannot be fetched.
   */
  async verifyAccessToken(accessToken: string): Promise<FiefAccessTokenInfo> {
    const cached = this.getVerifiedAccessToken(accessToken);
    if (cached !== undefined) return cached;
    if (typeof accessToken !== 'string' || accessToken === '') throw new FiefAccessTokenInvalid('Access token is missing');
    this.tokenCache?.countMiss();
    // A page firing several requests with a fresh token verifies it once, not once per request.
    const pending = this.verifying.get(accessToken);
    if (pending !== undefined) return pending;
    let verified: FiefAccessTokenInfo | Promise<FiefAccessTokenInfo>;
    try {
      verified = this.accessTokens.verify(accessToken);
    } catch (error) {
      recordVerification(verificationOutcome(error), this.tenant);
      throw error;
    }
    if (!(verified instanceof Promise)) {
      recordVerification('valid', this.tenant);
      // A warm miss verifies synchronously and the cache answers the next uses: nothing to track.
      if (this.tokenCache) return this.remember(accessToken, verified);
    }
    // With the cache off, concurrent uses still share one answer.
    const settled = verified instanceof Promise ? observeVerification(verified, this.tenant) : Promise.resolve(verified);
    const shared = settled.then((info) => this.remember(accessToken, info)).finally(() => this.verifying.delete(accessToken));
    this.verifying.set(accessToken, shared);
    return shared;
  }

  /**
   * What {@link verifyAccessToken} would answer for a token it verified recently, read synchronously
   * from the verified-token cache: no I/O and no verification. `undefined` when the token is not
   * cached (never seen, evicted, expired, or the cache is off): call `verifyAccessToken` then.
   * Requirements (scope, permissions, ACR) are the caller's to check, as with `verifyAccessToken`.
   *
   * @example
   * const info = fief.getVerifiedAccessToken(token) ?? (await fief.verifyAccessToken(token));
   */
  getVerifiedAccessToken(accessToken: string): FiefAccessTokenInfo | undefined {
    return this.tokenCache?.get(accessToken, Date.now());
  }

  /**
   * Fresh user claims from Fief's userinfo endpoint.
   *
   * @throws FiefRequestError when Fief refuses the token (401). @throws FiefUnavailableError.
   */
  async userinfo(accessToken: string): Promise<FiefUserInfo> {
    const { userinfo_endpoint } = await this.metadata.discovery();
    return this.oauth.callUserEndpoint('userinfo', userinfo_endpoint, 'GET', accessToken);
  }

  /**
   * Updates the user's profile (`email`, `fields: { slug: value }`…).
   *
   * @example
   * await fief.updateProfile(token, { fields: { first_name: 'Anne' } });
   */
  async updateProfile(accessToken: string, data: Record<string, unknown>): Promise<FiefUserInfo> {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new FiefError('updateProfile data must be an object');
    return this.oauth.callUserEndpoint('profile update', `${this.baseURL}/api/profile`, 'PATCH', accessToken, data);
  }

  /** Changes the user's password. Fief requires a token of ACR level 1 (a fresh login), else 403. */
  async changePassword(accessToken: string, password: string): Promise<FiefUserInfo> {
    const body = { password: nonEmptyString(password, 'password') };
    return this.oauth.callUserEndpoint('password change', `${this.baseURL}/api/password`, 'PATCH', accessToken, body);
  }

  /** Starts an email change: Fief sends a verification code to the new address (confirm with {@link emailVerify}). */
  async emailChange(accessToken: string, email: string): Promise<FiefUserInfo> {
    const body = { email: nonEmptyString(email, 'email') };
    return this.oauth.callUserEndpoint('email change', `${this.baseURL}/api/email/change`, 'PATCH', accessToken, body);
  }

  /** Completes an email change with the code Fief sent to the new address. */
  async emailVerify(accessToken: string, code: string): Promise<FiefUserInfo> {
    const body = { code: nonEmptyString(code, 'code') };
    return this.oauth.callUserEndpoint('email verification', `${this.baseURL}/api/email/verify`, 'POST', accessToken, body);
  }

  /** The URL that ends the user's session on Fief and sends them back to `redirectUri`. */
  async logoutUrl(redirectUri: string): Promise<string> {
    checkRedirectUri(redirectUri);
    const url = new URL(`${this.baseURL}/logout`);
    url.searchParams.set('redirect_uri', redirectUri);
    return url.href;
  }

  /** A PKCE code verifier (64 random base64url characters). */
  async generateCodeVerifier(): Promise<string> {
    return generateCodeVerifier();
  }

  /** The PKCE challenge of a verifier: `S256` by default, or `plain`. */
  async getCodeChallenge(verifier: string, method: 'plain' | 'S256' = 'S256'): Promise<string> {
    return getCodeChallenge(verifier, method);
  }

  /** The one place verified tokens enter the cache (until `exp`, at most `tokenCache.maxAge`). */
  private remember(accessToken: string, info: FiefAccessTokenInfo): FiefAccessTokenInfo {
    if (this.tokenCache) {
      const now = Date.now();
      this.tokenCache.set(accessToken, info, Math.min(info.exp * 1000, now + this.tokenCacheMaxAge), now);
    }
    return info;
  }
}

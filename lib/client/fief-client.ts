import { compactDecrypt, decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { checkAccessTokenInfo, isFiefAcr } from './access-token-requirements.js';
import {
  FiefAccessTokenExpired,
  FiefAccessTokenInvalid,
  FiefError,
  FiefIdTokenInvalid,
  FiefUnavailableError,
} from './errors.js';
import { observeVerification } from '../telemetry/index.js';
import { expectObject, requestFiefJson, type FiefHttpSettings } from './fief-http.js';
import { FiefMetadata } from './fief-metadata.js';
import { generateCodeVerifier, getCodeChallenge, leftHalfHash } from './pkce.js';
import {
  FiefACR,
  type FiefAccessTokenInfo,
  type FiefAuthCallbackParameters,
  type FiefAuthUrlParameters,
  type FiefClientOptions,
  type FiefRefreshParameters,
  type FiefTokenResponse,
  type FiefUserInfo,
  type FiefValidateParameters,
} from './types.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

export { checkAccessTokenInfo } from './access-token-requirements.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const DEFAULT_CLOCK_TOLERANCE_S = 30;
const DEFAULT_METADATA_TTL_S = 3600;
const DEFAULT_JWKS_COOLDOWN_S = 10;
const DEFAULT_TOKEN_CACHE = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024, maxAge: 300 };

/** Header parameters that would make us fetch or trust keys named by the token itself, or process extensions we do not know (RFC 8725 3.10). */
const REFUSED_HEADER_PARAMETERS = ['crit', 'jku', 'x5u', 'jwk', 'x5c', 'b64'] as const;
/** Claims only ID tokens carry: an access token with one of them is an ID token in disguise. */
const ID_TOKEN_ONLY_CLAIMS = ['nonce', 'at_hash', 'c_hash', 'email'] as const;
/** Query parameters {@link FiefClient.authUrl} owns; `extrasParams` may not override them. */
const RESERVED_AUTH_PARAMETERS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'lang',
]);
/** RFC 9068 `at+jwt`, or plain `JWT`; Fief itself sends no `typ`. */
const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt', 'application/at+jwt']);
const ID_TOKEN_TYPES = new Set(['jwt']);

type TokenErrorClass = typeof FiefAccessTokenInvalid | typeof FiefIdTokenInvalid;

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

  private readonly clientSecret?: string;
  private readonly http: FiefHttpSettings;
  private readonly metadata: FiefMetadata;
  private readonly clockTolerance: number;
  private readonly issuer?: string;
  private readonly audiences: string[];
  private readonly tokenCache?: VerifiedTokenCache;
  private readonly tokenCacheMaxAge: number;
  private readonly encryptionJwk?: JWK;
  private encryptionKey?: Promise<CryptoKey>;
  /** Verifications in progress, by token: concurrent first uses of a token share one. */
  private readonly verifying = new Map<string, Promise<FiefAccessTokenInfo>>();

  /**
   * Checks the options synchronously, so a misconfiguration fails at start-up rather than at the
   * first request. Does no I/O.
   *
   * @throws FiefError with a message naming the bad option.
   */
  constructor(options: FiefClientOptions) {
    if (typeof options !== 'object' || options === null) throw new FiefError('FiefClient options are required');
    this.baseURL = parseBaseURL(options.baseURL);
    this.clientId = nonEmptyString(options.clientId, 'clientId');
    if (options.clientSecret !== undefined) this.clientSecret = nonEmptyString(options.clientSecret, 'clientSecret');
    if (options.encryptionKey !== undefined) this.encryptionJwk = parseEncryptionKey(options.encryptionKey);
    if (options.issuer !== undefined) this.issuer = nonEmptyString(options.issuer, 'issuer');
    const allowedAudiences = options.allowedAudiences ?? [];
    if (!Array.isArray(allowedAudiences)) throw new FiefError('allowedAudiences must be an array of strings');
    this.audiences = [this.clientId, ...allowedAudiences.map((audience) => nonEmptyString(audience, 'allowedAudiences[]'))];
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new FiefError('fetch must be a function');
    this.http = {
      // Looked up per call when not given, so a fetch installed after construction is used.
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      timeout: positiveNumber(options.requestTimeout, DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeout'),
    };
    this.clockTolerance = nonNegativeNumber(options.clockTolerance, DEFAULT_CLOCK_TOLERANCE_S, 'clockTolerance');
    this.metadata = new FiefMetadata(
      this.baseURL,
      this.http,
      positiveNumber(options.metadataTtl, DEFAULT_METADATA_TTL_S, 'metadataTtl') * 1000,
      nonNegativeNumber(options.jwksCooldown, DEFAULT_JWKS_COOLDOWN_S, 'jwksCooldown') * 1000,
      this.clockTolerance * 1000,
    );
    const cache = options.tokenCache === false ? undefined : { ...DEFAULT_TOKEN_CACHE, ...options.tokenCache };
    this.tokenCacheMaxAge = cache ? positiveNumber(cache.maxAge, DEFAULT_TOKEN_CACHE.maxAge, 'tokenCache.maxAge') * 1000 : 0;
    if (cache) {
      this.tokenCache = new VerifiedTokenCache(
        positiveNumber(cache.maxEntries, DEFAULT_TOKEN_CACHE.maxEntries, 'tokenCache.maxEntries'),
        positiveNumber(cache.maxBytes, DEFAULT_TOKEN_CACHE.maxBytes, 'tokenCache.maxBytes'),
      );
    }
  }

  /**
   * The URL of Fief's login page. `openid` is always among the scopes.
   *
   * @example
   * await fief.authUrl('http://localhost:3000/callback', { state, nonce, codeChallenge, codeChallengeMethod: 'S256' });
   */
  async authUrl(redirectUri: string, params: FiefAuthUrlParameters = {}): Promise<string> {
    checkRedirectUri(redirectUri);
    const { state, scope, codeChallenge, codeChallengeMethod, nonce, lang, extrasParams } = params;
    if (codeChallengeMethod !== undefined && codeChallenge === undefined) {
      throw new FiefError('codeChallengeMethod was given without a codeChallenge');
    }
    if (codeChallengeMethod !== undefined && codeChallengeMethod !== 'S256' && codeChallengeMethod !== 'plain') {
      throw new FiefError(`Unknown PKCE method "${String(codeChallengeMethod)}": use "S256" or "plain"`);
    }
    const { authorization_endpoint } = await this.metadata.discovery();
    const url = new URL(authorization_endpoint);
    const query = url.searchParams;
    query.set('response_type', 'code');
    query.set('client_id', this.clientId);
    query.set('redirect_uri', redirectUri);
    query.set('scope', [...new Set(['openid', ...(scope ?? [])])].join(' '));
    if (state !== undefined) query.set('state', state);
    if (codeChallenge !== undefined) {
      query.set('code_challenge', codeChallenge);
      // RFC 7636 defaults to `plain` when no method is sent; our challenges default to S256.
      query.set('code_challenge_method', codeChallengeMethod ?? 'S256');
    }
    if (nonce !== undefined) query.set('nonce', nonce);
    if (lang !== undefined) query.set('lang', lang);
    for (const [name, value] of Object.entries(extrasParams ?? {})) {
      if (RESERVED_AUTH_PARAMETERS.has(name)) throw new FiefError(`extrasParams may not set "${name}": use the dedicated parameter`);
      query.set(name, String(value));
    }
    return url.href;
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
    const tokens = await this.requestTokens(form);
    const userinfo = await this.verifyIdToken(tokens, { nonce: params.nonce, code });
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
    const tokens = await this.requestTokens(form);
    const userinfo = await this.verifyIdToken(tokens, {});
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
    let pending = this.verifying.get(accessToken);
    if (pending === undefined) {
      pending = this.verifyAndCache(accessToken).finally(() => this.verifying.delete(accessToken));
      this.verifying.set(accessToken, pending);
    }
    return pending;
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
    return this.callUserEndpoint('userinfo', userinfo_endpoint, 'GET', accessToken);
  }

  /**
   * Updates the user's profile (`email`, `fields: { slug: value }`…).
   *
   * @example
   * await fief.updateProfile(token, { fields: { first_name: 'Anne' } });
   */
  async updateProfile(accessToken: string, data: Record<string, unknown>): Promise<FiefUserInfo> {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new FiefError('updateProfile data must be an object');
    return this.callUserEndpoint('profile update', `${this.baseURL}/api/profile`, 'PATCH', accessToken, data);
  }

  /** Changes the user's password. Fief requires a token of ACR level 1 (a fresh login), else 403. */
  async changePassword(accessToken: string, password: string): Promise<FiefUserInfo> {
    const body = { password: nonEmptyString(password, 'password') };
    return this.callUserEndpoint('password change', `${this.baseURL}/api/password`, 'PATCH', accessToken, body);
  }

  /** Starts an email change: Fief sends a verification code to the new address (confirm with {@link emailVerify}). */
  async emailChange(accessToken: string, email: string): Promise<FiefUserInfo> {
    const body = { email: nonEmptyString(email, 'email') };
    return this.callUserEndpoint('email change', `${this.baseURL}/api/email/change`, 'PATCH', accessToken, body);
  }

  /** Completes an email change with the code Fief sent to the new address. */
  async emailVerify(accessToken: string, code: string): Promise<FiefUserInfo> {
    const body = { code: nonEmptyString(code, 'code') };
    return this.callUserEndpoint('email verification', `${this.baseURL}/api/email/verify`, 'POST', accessToken, body);
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

  private async verifyAndCache(accessToken: string): Promise<FiefAccessTokenInfo> {
    const info = await observeVerification(this.verifyAccessTokenUncached(accessToken), this.http.tenant);
    if (this.tokenCache) {
      const now = Date.now();
      this.tokenCache.set(accessToken, info, Math.min(info.exp * 1000, now + this.tokenCacheMaxAge), now);
    }
    return info;
  }

  private async verifyAccessTokenUncached(accessToken: string): Promise<FiefAccessTokenInfo> {
    const kid = this.checkHeader(accessToken, FiefAccessTokenInvalid, ACCESS_TOKEN_TYPES);
    const issuer = this.issuer ?? (await this.expectedIssuer());
    // The key is resolved first and handed over as a CryptoKey: jose's cheapest path.
    const key = await this.verificationKey(kid, FiefAccessTokenInvalid, accessToken);
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(accessToken, key, {
        algorithms: ['RS256'],
        issuer,
        audience: this.audiences,
        clockTolerance: this.clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (error) {
      if (error instanceof FiefError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new FiefAccessTokenExpired('Access token has expired', { cause: error });
      throw new FiefAccessTokenInvalid(`Access token refused: ${(error as Error).message}`, { cause: error });
    }
    const refuse = (reason: string) => new FiefAccessTokenInvalid(`Access token refused: ${reason}`);
    this.checkAuthorizedParty(claims, this.audiences, refuse);
    this.checkIssuedAt(claims, refuse);
    for (const claim of ID_TOKEN_ONLY_CLAIMS) {
      if (claim in claims) throw refuse(`it carries "${claim}", so it is an ID token, not an access token`);
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') throw refuse('"sub" is not a string');
    if (typeof claims.scope !== 'string') throw refuse('it has no "scope" string, so it is not a Fief access token');
    const permissions = claims.permissions ?? [];
    if (!Array.isArray(permissions) || permissions.some((permission) => typeof permission !== 'string')) {
      throw refuse('"permissions" is not an array of strings');
    }
    const acr = claims.acr ?? FiefACR.LEVEL_ZERO;
    if (!isFiefAcr(acr)) throw refuse(`unknown "acr" ${JSON.stringify(acr)}`);
    return Object.freeze({
      id: claims.sub,
      scope: Object.freeze(claims.scope.split(' ').filter((scope) => scope !== '')) as string[],
      acr,
      permissions: Object.freeze([...(permissions as string[])]) as string[],
      access_token: accessToken,
      exp: claims.exp!,
    });
  }

  /**
   * OIDC Core 3.1.3.7 for the ID token of a token response: decrypt (when configured), then
   * signature, iss, aud, azp, exp/iat, nonce, at_hash and c_hash.
   */
  private async verifyIdToken(tokens: FiefTokenResponse, expected: { nonce?: string; code?: string }): Promise<FiefUserInfo> {
    const signed = await this.decryptIdToken(tokens.id_token);
    const kid = this.checkHeader(signed, FiefIdTokenInvalid, ID_TOKEN_TYPES);
    const issuer = await this.expectedIssuer();
    const key = await this.verificationKey(kid, FiefIdTokenInvalid, signed);
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(signed, key, {
        algorithms: ['RS256'],
        issuer,
        audience: this.clientId,
        clockTolerance: this.clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (error) {
      if (error instanceof FiefError) throw error;
      throw new FiefIdTokenInvalid(`ID token refused: ${(error as Error).message}`, { cause: error });
    }
    const refuse = (reason: string) => new FiefIdTokenInvalid(`ID token refused: ${reason}`);
    this.checkAuthorizedParty(claims, [this.clientId], refuse);
    if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp === undefined) {
      throw refuse('several audiences and no "azp"');
    }
    this.checkIssuedAt(claims, refuse);
    if (expected.nonce !== undefined && claims.nonce !== expected.nonce) throw refuse('"nonce" does not match the one sent');
    if (claims.at_hash !== undefined && claims.at_hash !== (await leftHalfHash(tokens.access_token))) {
      throw refuse('"at_hash" does not match the access token');
    }
    if (claims.c_hash !== undefined && expected.code !== undefined && claims.c_hash !== (await leftHalfHash(expected.code))) {
      throw refuse('"c_hash" does not match the authorization code');
    }
    return claims as FiefUserInfo;
  }

  private async decryptIdToken(idToken: string): Promise<string> {
    const parts = idToken.split('.').length;
    if (!this.encryptionJwk) {
      if (parts === 5) throw new FiefIdTokenInvalid('ID token is encrypted but no encryptionKey is configured');
      return idToken;
    }
    if (parts !== 5) throw new FiefIdTokenInvalid('ID token is not encrypted although an encryptionKey is configured');
    // Imported once and awaited by everyone (the JS client raced this import, defect 2).
    this.encryptionKey ??= importJWK(this.encryptionJwk, 'RSA-OAEP-256').then((key) => key as CryptoKey);
    let key: CryptoKey;
    try {
      key = await this.encryptionKey;
    } catch (error) {
      this.encryptionKey = undefined;
      throw new FiefError(`encryptionKey cannot be imported as an RSA-OAEP-256 private key: ${(error as Error).message}`, { cause: error });
    }
    try {
      const { plaintext } = await compactDecrypt(idToken, key, {
        keyManagementAlgorithms: ['RSA-OAEP-256'],
        contentEncryptionAlgorithms: ['A256CBC-HS512'],
      });
      return new TextDecoder().decode(plaintext);
    } catch (error) {
      throw new FiefIdTokenInvalid(`ID token cannot be decrypted: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Header checks jose leaves to us: compact JWS only, RS256, a `kid`, an expected `typ`, no key-bearing
   * or critical parameters. @returns the `kid`.
   */
  private checkHeader(token: string, invalid: TokenErrorClass, types: Set<string>): string {
    const kind = invalid === FiefIdTokenInvalid ? 'ID token' : 'Access token';
    let header: Record<string, unknown>;
    try {
      const segments = token.split('.');
      if (segments.length !== 3) throw new Error('not a compact JWS');
      // One token, one string: jose and Buffer decode padded or non-zero-tail base64url too, which
      // would let a re-encoded token slip past anything keyed on the string (cache, deny-lists).
      if (!segments.every(isCanonicalBase64url)) throw new Error('not canonical unpadded base64url (RFC 7515)');
      header = decodeProtectedHeader(token) as Record<string, unknown>;
    } catch (error) {
      throw new invalid(`${kind} is malformed: ${(error as Error).message}`, { cause: error });
    }
    if (header.alg !== 'RS256') throw new invalid(`${kind} refused: alg ${JSON.stringify(header.alg)} is not RS256`);
    if (typeof header.kid !== 'string' || header.kid === '') throw new invalid(`${kind} refused: no "kid" in the header`);
    for (const parameter of REFUSED_HEADER_PARAMETERS) {
      if (parameter in header) throw new invalid(`${kind} refused: header parameter "${parameter}" is not accepted`);
    }
    if (header.typ !== undefined && (typeof header.typ !== 'string' || !types.has(header.typ.toLowerCase()))) {
      throw new invalid(`${kind} refused: unexpected typ ${JSON.stringify(header.typ)}`);
    }
    return header.kid;
  }

  private async verificationKey(kid: string, invalid: TokenErrorClass, token: string): Promise<CryptoKey> {
    const key = await this.metadata.signingKey(kid, () => issuedAt(token));
    if (!key) throw new invalid(`${invalid === FiefIdTokenInvalid ? 'ID token' : 'Access token'} refused: Fief publishes no key "${kid}"`);
    return key;
  }

  private async expectedIssuer(): Promise<string> {
    return this.issuer ?? (await this.metadata.discovery()).issuer;
  }

  /** OIDC Core 2: `azp` names the party the token was issued to; when present it must be us. */
  private checkAuthorizedParty(claims: JWTPayload, accepted: string[], refuse: (reason: string) => Error): void {
    if (claims.azp !== undefined && (typeof claims.azp !== 'string' || !accepted.includes(claims.azp))) {
      throw refuse(`issued to another client (azp ${JSON.stringify(claims.azp)})`);
    }
  }

  /** jose checks `iat` only as a number; a token issued in the future is forged or from a broken clock. */
  private checkIssuedAt(claims: JWTPayload, refuse: (reason: string) => Error): void {
    if (claims.iat! > Date.now() / 1000 + this.clockTolerance) throw refuse('"iat" is in the future');
  }

  private async requestTokens(form: URLSearchParams): Promise<FiefTokenResponse> {
    const { token_endpoint } = await this.metadata.discovery();
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.clientSecret !== undefined) {
      // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
      const credentials = `${formEncode(this.clientId)}:${formEncode(this.clientSecret)}`;
      headers.authorization = `Basic ${btoa(credentials)}`;
    } else {
      form.set('client_id', this.clientId);
    }
    const body = expectObject(
      await requestFiefJson(this.http, 'token endpoint', token_endpoint, { method: 'POST', headers, body: form.toString() }),
      'token response',
    );
    for (const field of ['access_token', 'id_token', 'token_type'] as const) {
      if (typeof body[field] !== 'string' || body[field] === '') {
        throw new FiefUnavailableError(`Fief token response has no "${field}" string`);
      }
    }
    if (typeof body.expires_in !== 'number') throw new FiefUnavailableError('Fief token response has no "expires_in" number');
    if (body.refresh_token !== undefined && typeof body.refresh_token !== 'string') {
      throw new FiefUnavailableError('Fief token response has a "refresh_token" that is not a string');
    }
    return body as unknown as FiefTokenResponse;
  }

  private async callUserEndpoint(
    what: string,
    url: string,
    method: string,
    accessToken: string,
    data?: Record<string, unknown>,
  ): Promise<FiefUserInfo> {
    const headers: Record<string, string> = { authorization: `Bearer ${nonEmptyString(accessToken, 'accessToken')}` };
    if (data !== undefined) headers['content-type'] = 'application/json';
    const body = data === undefined ? undefined : JSON.stringify(data);
    const user = expectObject(await requestFiefJson(this.http, what, url, { method, headers, body }), `${what} answer`);
    if (typeof user.sub !== 'string') throw new FiefUnavailableError(`Fief ${what} answer has no "sub"`);
    return user as FiefUserInfo;
  }
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function parseBaseURL(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new FiefError('baseURL is required, e.g. "https://example.fief.dev"');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FiefError(`baseURL "${value}" is not an absolute URL: include the scheme, e.g. "https://${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new FiefError(`baseURL "${value}" must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (!/^https?:\/\//i.test(value.trim())) {
    throw new FiefError(`baseURL "${value}" is not an absolute URL: include the scheme, e.g. "https://example.fief.dev"`);
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new FiefError(`baseURL "${value}" must not have a query or a fragment`);
  }
  if (url.username !== '' || url.password !== '') throw new FiefError(`baseURL must not carry credentials`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function parseEncryptionKey(value: unknown): JWK {
  if (typeof value !== 'string') throw new FiefError('encryptionKey must be the private JWK as a JSON string, as Fief gives it');
  let jwk: unknown;
  try {
    jwk = JSON.parse(value);
  } catch {
    throw new FiefError('encryptionKey is not valid JSON: give the private JWK exactly as Fief shows it');
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new FiefError('encryptionKey must be a JSON object (a JWK)');
  const key = jwk as JWK;
  if (key.kty !== 'RSA') throw new FiefError(`encryptionKey must be an RSA JWK, not kty ${JSON.stringify(key.kty)}`);
  if (typeof key.d !== 'string') throw new FiefError('encryptionKey is a public key: Fief gives the private JWK (with "d") to decrypt ID tokens');
  if (key.alg !== undefined && key.alg !== 'RSA-OAEP-256') {
    throw new FiefError(`encryptionKey alg must be RSA-OAEP-256, not ${JSON.stringify(key.alg)}`);
  }
  if (key.use !== undefined && key.use !== 'enc') throw new FiefError(`encryptionKey use must be "enc", not ${JSON.stringify(key.use)}`);
  // key_ops/ext from another tool could make WebCrypto refuse the import for an otherwise good key.
  const { key_ops: _keyOps, ext: _ext, ...usable } = key;
  return { ...usable, alg: 'RSA-OAEP-256' };
}

function checkRedirectUri(value: unknown): void {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new FiefError(`redirectUri must be an absolute URL, got ${JSON.stringify(value)}`);
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new FiefError(`${name} must be a non-empty string`);
  return value;
}

function positiveNumber(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new FiefError(`${name} must be a positive number`);
  return value;
}

function nonNegativeNumber(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new FiefError(`${name} must be a number >= 0`);
  return value;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether a segment is the one unpadded base64url spelling of its bytes (RFC 4648 §3.5, RFC 7515 §2):
 * alphabet only, no length that leaves 6 spare bits, and zero spare bits in the last character. A string
 * test, with no decoding: this runs on every token that misses the cache.
 */
function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment)) return false;
  const tail = segment.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const last = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]);
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}

/** The token's `iat` before verification, only to judge whether its unknown key may be a new one. */
function issuedAt(token: string): number | undefined {
  try {
    const { iat } = decodeJwt(token);
    return typeof iat === 'number' ? iat : undefined;
  } catch {
    return undefined;
  }
}

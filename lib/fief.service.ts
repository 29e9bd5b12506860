import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { FiefError, FiefUnavailableError } from './client/errors.js';
import { FiefClient } from './client/fief-client.js';
import type {
  FiefAccessTokenInfo,
  FiefAuthCallbackParameters,
  FiefAuthUrlParameters,
  FiefRefreshParameters,
  FiefTokenResponse,
  FiefUserInfo,
  FiefValidateParameters,
} from './client/types.js';
import { bearerHeaderExtractor } from './auth/token-extractor.js';
import { InMemoryFiefUserInfoCache, type FiefUserInfoCache } from './auth/user-info-cache.js';
import type { FiefModuleOptions, ResolvedFiefModuleOptions } from './fief-module-options.interface.js';
import { fiefCacheStats } from './telemetry/index.js';
import { FIEF_MODULE_OPTIONS } from './fief.module-definition.js';
import { createUserInfoCache } from './store/store-user-info-cache.js';

/** User-info cache hits and misses for telemetry, whatever cache is plugged in. */
const userInfoStats = fiefCacheStats('user_info');

const QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const isPositive = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;

/**
 * Checks the module options and applies the defaults. Every mistake is listed, so one start-up shows
 * them all; `FiefClient` then checks its own options the same way.
 *
 * @throws FiefError listing each mistake on its own line.
 */
export function resolveFiefModuleOptions(options: FiefModuleOptions): ResolvedFiefModuleOptions {
  const mistakes: string[] = [];
  if (options === null || typeof options !== 'object') {
    throw new FiefError('FiefModule options are missing: give at least { baseURL, clientId, clientSecret }.');
  }
  if (typeof options.baseURL !== 'string' || !/^https?:\/\/[^/?#\s]/i.test(options.baseURL)) {
    mistakes.push(`baseURL must be the http(s) URL of the Fief tenant, e.g. https://example.fief.dev (got ${JSON.stringify(options.baseURL)}).`);
  }
  if (typeof options.clientId !== 'string' || options.clientId.trim() === '') {
    mistakes.push('clientId must be the ID of the Fief client (a non-empty string).');
  }
  if (options.clientSecret !== undefined && (typeof options.clientSecret !== 'string' || options.clientSecret === '')) {
    mistakes.push('clientSecret must be a non-empty string, or be left out for a public client.');
  }
  if (options.realm !== undefined && (typeof options.realm !== 'string' || options.realm === '' || !QUOTABLE.test(options.realm))) {
    mistakes.push('realm must be a non-empty string without quotes, backslashes or control characters.');
  }
  for (const name of ['requestTimeout', 'retryAfter', 'userInfoCacheMaxEntries'] as const) {
    if (options[name] !== undefined && !isPositive(options[name])) mistakes.push(`${name} must be a positive number.`);
  }
  if (options.userInfoCacheMaxEntries !== undefined && !Number.isInteger(options.userInfoCacheMaxEntries)) {
    mistakes.push('userInfoCacheMaxEntries must be an integer.');
  }
  if (options.userInfoCacheTtl !== undefined && !(isPositive(options.userInfoCacheTtl) || options.userInfoCacheTtl === 0)) {
    mistakes.push('userInfoCacheTtl must be a number of seconds, 0 or more.');
  }
  const cache = options.userInfoCache as Partial<FiefUserInfoCache> | undefined;
  if (cache !== undefined && (typeof cache?.get !== 'function' || typeof cache.set !== 'function' || typeof cache.delete !== 'function')) {
    mistakes.push('userInfoCache must have get, set and delete methods.');
  }
  for (const [type, extractor] of Object.entries(options.tokenExtractors ?? {})) {
    if (typeof extractor?.extract !== 'function') mistakes.push(`tokenExtractors.${type} must have an extract(request, context) method.`);
  }
  if (options.exceptionFactory !== undefined && typeof options.exceptionFactory !== 'function') {
    mistakes.push('exceptionFactory must be a function (failure, context) => Error.');
  }
  if (mistakes.length) throw new FiefError(`Invalid FiefModule options:\n - ${mistakes.join('\n - ')}`);
  return {
    ...options,
    realm: options.realm ?? 'fief',
    tokenExtractors: { http: bearerHeaderExtractor, ...options.tokenExtractors },
    userInfoCacheTtl: options.userInfoCacheTtl ?? 300,
    userInfoCacheMaxEntries: options.userInfoCacheMaxEntries ?? 1000,
    retryAfter: options.retryAfter ?? 10,
  };
}

/**
 * The Fief client as a Nest provider: the whole `FiefClient` API under the same names, failures
 * logged through Nest's `Logger` (never a token or a secret), plus the cached user info the guard
 * uses for `@CurrentUser()`. Building it does no network I/O: the app starts while Fief is down.
 *
 * @example
 * @Patch('me')
 * updateMe(@AccessToken() token: string, @Body() body: { fields: Record<string, unknown> }) {
 *   return this.fief.updateProfile(token, { fields: body.fields });
 * }
 */
@Injectable()
export class FiefService {
  /** The options in effect, defaults applied. */
  readonly options: ResolvedFiefModuleOptions;
  /** The underlying framework-free client. */
  readonly client: FiefClient;
  /** Where `@CurrentUser()` info is kept. */
  readonly userInfoCache: FiefUserInfoCache;
  private readonly logger = new Logger('Fief');
  private readonly loadingUsers = new Map<string, Promise<FiefUserInfo>>();
  private readonly userInfoKeys = new WeakMap<FiefAccessTokenInfo, string>();

  /** @throws FiefError listing every mistake in the options. */
  constructor(@Inject(FIEF_MODULE_OPTIONS) options: FiefModuleOptions) {
    this.options = resolveFiefModuleOptions(options);
    try {
      this.client = new FiefClient(this.options);
    } catch (error) {
      throw new FiefError(`Invalid FiefModule options:\n - ${(error as Error).message}`, { cause: error });
    }
    const local = new InMemoryFiefUserInfoCache(this.options.userInfoCacheMaxEntries);
    this.userInfoCache = this.options.userInfoCache ?? createUserInfoCache(this.options.store, local, this.logger);
  }

  /** @see FiefClient.authUrl */
  authUrl(redirectUri: string, params?: FiefAuthUrlParameters): Promise<string> {
    return this.logged('authUrl', this.client.authUrl(redirectUri, params));
  }

  /** @see FiefClient.authCallback */
  authCallback(code: string, redirectUri: string, params?: FiefAuthCallbackParameters): Promise<[FiefTokenResponse, FiefUserInfo]> {
    return this.logged('authCallback', this.client.authCallback(code, redirectUri, params));
  }

  /** @see FiefClient.authRefreshToken */
  authRefreshToken(refreshToken: string, params?: FiefRefreshParameters): Promise<[FiefTokenResponse, FiefUserInfo]> {
    return this.logged('authRefreshToken', this.client.authRefreshToken(refreshToken, params));
  }

  /** @see FiefClient.validateAccessToken */
  validateAccessToken(accessToken: string, params?: FiefValidateParameters): Promise<FiefAccessTokenInfo> {
    return this.client.validateAccessToken(accessToken, params);
  }

  /**
   * Verifies the token's signature and claims (results cached by the client). The guard's hot path:
   * no wrapper here, the guard logs what it refuses.
   * @see FiefClient.verifyAccessToken
   */
  verifyAccessToken(accessToken: string): Promise<FiefAccessTokenInfo> {
    return this.client.verifyAccessToken(accessToken);
  }

  /**
   * A recently verified token's info, synchronously from the client's cache; `undefined` when it
   * must be verified. @see FiefClient.getVerifiedAccessToken
   */
  getVerifiedAccessToken(accessToken: string): FiefAccessTokenInfo | undefined {
    return this.client.getVerifiedAccessToken(accessToken);
  }

  /** Fresh user info from Fief, bypassing the cache. @see FiefClient.userinfo */
  userinfo(accessToken: string): Promise<FiefUserInfo> {
    return this.logged('userinfo', this.client.userinfo(accessToken));
  }

  /** Updates the user's profile; the cached user info of this token is refreshed. @see FiefClient.updateProfile */
  updateProfile(accessToken: string, data: Record<string, unknown>): Promise<FiefUserInfo> {
    return this.forgetUserAfter(accessToken, this.logged('updateProfile', this.client.updateProfile(accessToken, data)));
  }

  /** @see FiefClient.changePassword */
  changePassword(accessToken: string, password: string): Promise<FiefUserInfo> {
    return this.forgetUserAfter(accessToken, this.logged('changePassword', this.client.changePassword(accessToken, password)));
  }

  /** @see FiefClient.emailChange */
  emailChange(accessToken: string, email: string): Promise<FiefUserInfo> {
    return this.forgetUserAfter(accessToken, this.logged('emailChange', this.client.emailChange(accessToken, email)));
  }

  /** @see FiefClient.emailVerify */
  emailVerify(accessToken: string, code: string): Promise<FiefUserInfo> {
    return this.forgetUserAfter(accessToken, this.logged('emailVerify', this.client.emailVerify(accessToken, code)));
  }

  /** @see FiefClient.logoutUrl */
  logoutUrl(redirectUri: string): Promise<string> {
    return this.logged('logoutUrl', this.client.logoutUrl(redirectUri));
  }

  /** @see FiefClient.generateCodeVerifier */
  generateCodeVerifier(): Promise<string> {
    return this.client.generateCodeVerifier();
  }

  /** @see FiefClient.getCodeChallenge */
  getCodeChallenge(verifier: string, method?: 'plain' | 'S256'): Promise<string> {
    return this.client.getCodeChallenge(verifier, method);
  }

  /**
   * The user info of a verified token, through the user info cache (entries never outlive the
   * token). Concurrent calls for one token share a single request to Fief.
   *
   * @throws FiefUnavailableError when Fief cannot be reached; whatever the cache throws.
   */
  getUserInfo(accessTokenInfo: FiefAccessTokenInfo): Promise<FiefUserInfo> {
    // The client shares one frozen info object per cached token: hash each token once, not per request.
    let key = this.userInfoKeys.get(accessTokenInfo);
    if (key === undefined) {
      key = userInfoCacheKey(accessTokenInfo.access_token);
      this.userInfoKeys.set(accessTokenInfo, key);
    }
    let cached: ReturnType<FiefUserInfoCache['get']>;
    try {
      cached = this.userInfoCache.get(key);
    } catch (error) {
      return Promise.reject(error);
    }
    if (cached !== undefined && typeof (cached as PromiseLike<unknown>).then !== 'function') {
      userInfoStats.hits++;
      return Promise.resolve(cached as FiefUserInfo);
    }
    return this.loadThroughCache(key, accessTokenInfo, cached);
  }

  private async loadThroughCache(
    key: string,
    accessTokenInfo: FiefAccessTokenInfo,
    pending: ReturnType<FiefUserInfoCache['get']>,
  ): Promise<FiefUserInfo> {
    const cached = await pending;
    if (cached) {
      userInfoStats.hits++;
      return cached;
    }
    userInfoStats.misses++;
    let loading = this.loadingUsers.get(key);
    if (!loading) {
      loading = this.loadUserInfo(key, accessTokenInfo).finally(() => this.loadingUsers.delete(key));
      this.loadingUsers.set(key, loading);
    }
    return loading;
  }

  private async loadUserInfo(key: string, accessTokenInfo: FiefAccessTokenInfo): Promise<FiefUserInfo> {
    const user = await this.userinfo(accessTokenInfo.access_token);
    const ttl = Math.min(this.options.userInfoCacheTtl * 1000, accessTokenInfo.exp * 1000 - Date.now());
    if (ttl > 0) await this.userInfoCache.set(key, user, ttl);
    return user;
  }

  private async forgetUserAfter(accessToken: string, result: Promise<FiefUserInfo>): Promise<FiefUserInfo> {
    const user = await result;
    await this.userInfoCache.delete(userInfoCacheKey(accessToken));
    return user;
  }

  private async logged<T>(method: string, result: Promise<T>): Promise<T> {
    try {
      return await result;
    } catch (error) {
      // Messages of the client's errors carry Fief's answer, never the token or the secret.
      if (error instanceof FiefUnavailableError) this.logger.warn(`${method}: Fief is unavailable: ${error.message}`);
      else this.logger.debug(`${method} failed: ${(error as Error)?.message}`);
      throw error;
    }
  }
}

/** Cache key of a token's user info: a hash, so a shared cache never holds bearer tokens. */
export function userInfoCacheKey(accessToken: string): string {
  return `fief:userinfo:${createHash('sha256').update(accessToken).digest('base64url')}`;
}

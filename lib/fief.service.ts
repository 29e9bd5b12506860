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
import { InMemoryFiefUserInfoCache, type FiefUserInfoCache } from './auth/user-info-cache.js';
import type { FiefModuleConfig, ResolvedFiefModuleOptions, ResolvedFiefSharedOptions } from './fief-module-options.interface.js';
import { isTenantsConfig, resolveFiefModuleOptions, resolveFiefTenants } from './fief-module-options.js';
import { FIEF_MODULE_OPTIONS } from './fief.module-definition.js';
import { FiefTenantRegistry } from './fief-tenants.js';
import { createUserInfoCache } from './store/store-user-info-cache.js';
import { fiefCacheStats, FIEF_TELEMETRY_TENANT, type FiefCacheStats } from './telemetry/index.js';

export { resolveFiefModuleOptions } from './fief-module-options.js';

/** Marks the options of a tenant's own service (not part of the public options). */
const TENANT = Symbol('FIEF:TENANT');

/** One tenant's state: its options, its client and its user info cache. */
interface TenantState {
  readonly options: ResolvedFiefModuleOptions;
  readonly client: FiefClient;
  readonly userInfoCache: FiefUserInfoCache;
}

function buildState(options: ResolvedFiefModuleOptions, logger: Logger, tenant?: string): TenantState {
  let client: FiefClient;
  try {
    // A tenant's client reports its spans and metrics under the tenant's name.
    const named = { ...options, [FIEF_TELEMETRY_TENANT]: tenant };
    client = new FiefClient(tenant === undefined ? options : named);
  } catch (error) {
    throw new FiefError(`Invalid FiefModule options:\n - ${(error as Error).message}`, { cause: error });
  }
  const local = new InMemoryFiefUserInfoCache(options.userInfoCacheMaxEntries);
  return { options, client, userInfoCache: options.userInfoCache ?? createUserInfoCache(options.store, local, logger) };
}

/**
 * The Fief client as a Nest provider: the whole `FiefClient` API under the same names, failures
 * logged through Nest's `Logger` (never a token or a secret), plus the cached user info the guard
 * uses for `@CurrentUser()`. Building it does no network I/O: the app starts while Fief is down.
 *
 * With several tenants (`tenants` option), `forTenant(name)` gives each tenant's service (built on
 * first use); the tenant-less methods then throw a `FiefError` naming `forTenant`.
 *
 * @example
 * @Patch('me')
 * updateMe(@AccessToken() token: string, @Body() body: { fields: Record<string, unknown> }) {
 *   return this.fief.updateProfile(token, { fields: body.fields });
 * }
 */
@Injectable()
export class FiefService {
  /** The shared options in effect (realm, extractors, refusals), the same for every tenant. */
  readonly sharedOptions: ResolvedFiefSharedOptions;
  /** The tenants, when the module has several (`tenants` option). */
  readonly tenants?: FiefTenantRegistry<FiefService>;
  /** The name of this service's tenant, on a service `forTenant()` gave. */
  readonly tenant?: string;
  private readonly own?: TenantState;
  private readonly logger: Logger;
  private readonly loadingUsers = new Map<string, Promise<FiefUserInfo>>();
  private readonly userInfoKeys = new WeakMap<FiefAccessTokenInfo, string>();
  /** User-info cache hits and misses for telemetry, whatever cache is plugged in. */
  private readonly userInfoStats: FiefCacheStats;

  /** @throws FiefError listing every mistake in the options. */
  constructor(@Inject(FIEF_MODULE_OPTIONS) options: FiefModuleConfig) {
    const tenant = (options as { [TENANT]?: string } | null)?.[TENANT];
    // A tenant's failures are logged under its name: one tenant down must be told apart from the others.
    this.logger = new Logger(tenant === undefined ? 'Fief' : `Fief:${tenant}`);
    this.userInfoStats = fiefCacheStats('user_info', tenant);
    if (tenant === undefined && options !== null && typeof options === 'object' && isTenantsConfig(options)) {
      const resolved = resolveFiefTenants(options);
      // Options are checked at start-up; clients are built when a tenant is first used.
      for (const tenantOptions of resolved.tenants.values()) buildState(tenantOptions, this.logger);
      this.sharedOptions = resolved.shared;
      this.tenants = new FiefTenantRegistry(resolved, (name, tenantOptions) =>
        new FiefService({ ...tenantOptions, [TENANT]: name } as FiefModuleConfig),
      );
      return;
    }
    this.own = buildState(resolveFiefModuleOptions(options as ResolvedFiefModuleOptions), this.logger, tenant);
    this.sharedOptions = this.own.options;
    if (tenant !== undefined) this.tenant = tenant;
  }

  /** The options in effect, defaults applied. @throws FiefError with several tenants: use `forTenant(name).options`. */
  get options(): ResolvedFiefModuleOptions {
    return this.state().options;
  }

  /** The underlying framework-free client. @throws FiefError with several tenants: use `forTenant(name).client`. */
  get client(): FiefClient {
    return this.state().client;
  }

  /** Where `@CurrentUser()` info is kept. */
  get userInfoCache(): FiefUserInfoCache {
    return this.state().userInfoCache;
  }

  /**
   * The service of one tenant (all of this class's methods, against that tenant's Fief), built on
   * first use and kept: one discovery, key set and cache per tenant.
   *
   * @throws FiefError when the module has no tenant of that name.
   * @example
   * await this.fief.forTenant('acme').userinfo(accessToken);
   */
  forTenant(name: string): FiefService {
    if (!this.tenants) {
      if (this.tenant === name) return this;
      throw new FiefError(`forTenant(${JSON.stringify(name)}): this FiefModule has no tenants option.`);
    }
    return this.tenants.get(name);
  }

  private state(): TenantState {
    if (this.own) return this.own;
    return this.tenants!.only().own!;
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
      this.userInfoStats.hits++;
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
      this.userInfoStats.hits++;
      return cached;
    }
    this.userInfoStats.misses++;
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

import type { ExecutionContext, Type } from '@nestjs/common';
import type { FiefClientOptions } from './client/types.js';
import type { FiefAuthFailure } from './auth/fief-auth-failure.js';
import type { FiefTokenExtractors } from './auth/token-extractor.js';
import type { FiefUserInfoCache } from './auth/user-info-cache.js';
import type { FiefLoginOptions } from './login/login-options.interface.js';
import type { FiefStore } from './store/fief-store.interface.js';
import type { FiefWebhookOptions } from './webhooks/fief-webhook-options.js';

/**
 * What every configuration shares, with one tenant or several: how the guard reads credentials,
 * answers refusals and caches user info.
 */
export interface FiefModuleSharedOptions {
  /** `realm` of the `WWW-Authenticate` challenges (RFC 6750 §3). @default 'fief' */
  realm?: string;
  /**
   * Where tokens come from, by `ExecutionContext` type; merged over the defaults.
   * @default { http: bearerHeaderExtractor } (`Authorization: Bearer`, scheme case-insensitive)
   */
  tokenExtractors?: FiefTokenExtractors;
  /**
   * Store of the user info `@CurrentUser()` fetches from Fief. Give one to share it between
   * instances. @default an in-memory LRU of `userInfoCacheMaxEntries` entries (one per tenant)
   */
  userInfoCache?: FiefUserInfoCache;
  /** How long user info is reused, in seconds; never beyond the token's expiry. `0` disables caching. @default 300 */
  userInfoCacheTtl?: number;
  /** Size bound of the default in-memory user info cache. @default 1000 */
  userInfoCacheMaxEntries?: number;
  /** `Retry-After` of the 503 answered while Fief cannot be reached, in seconds. @default 10 */
  retryAfter?: number;
  /**
   * Builds the exception thrown for a refusal, to change the body (the status and
   * `WWW-Authenticate` / `Retry-After` headers are still set on HTTP). `context` is `undefined` under `AuthGuard('fief')`.
   * @default Nest's `UnauthorizedException` / `ForbiddenException` / `ServiceUnavailableException` / `BadRequestException`
   */
  exceptionFactory?: (failure: FiefAuthFailure, context: ExecutionContext | undefined) => Error;
  /**
   * State shared by every instance of the app (login single use, user info, session refresh,
   * webhook replay), e.g. `new RedisFiefStore(redis)`. Shared by every tenant. @default in memory, per instance
   */
  store?: FiefStore;
  /** Verification of Fief's webhook deliveries by `FiefWebhookGuard`. Off when absent. */
  webhooks?: FiefWebhookOptions;
}

/**
 * Options of `FiefModule.forRoot` / the factory of `forRootAsync` for one Fief tenant: the
 * `FiefClient` options plus the shared ones.
 *
 * @example
 * FiefModule.forRoot({ baseURL: 'https://example.fief.dev', clientId: '…', clientSecret: '…', realm: 'castles' })
 */
export interface FiefModuleOptions extends FiefModuleSharedOptions, FiefClientOptions {
  /**
   * Browser login flow: the auth controller (`/auth/login`, `/auth/callback`, `/auth/logout`,
   * `/auth/me`) and the encrypted session cookie the guard accepts besides bearer tokens.
   * Off when absent. See "Web app login" in the README.
   */
  login?: FiefLoginOptions;
}

/**
 * Picks the tenant of a request by name (`undefined`: none, refused with 401). Runs before any
 * credential is read; a promise may be returned.
 *
 * @example
 * const byHost: FiefTenantResolver = (request) => (request.headers.host === 'acme.example.com' ? 'acme' : undefined);
 */
export type FiefTenantResolver = (request: any, context: ExecutionContext | undefined) => string | undefined | Promise<string | undefined>;

/** One tenant of {@link FiefTenantsModuleOptions}: its Fief client, and its part of the login options. */
export interface FiefTenantOptions extends FiefClientOptions {
  /**
   * The issuer (`iss`) of this tenant's tokens: used to pick the tenant of a bearer token when there
   * is no `resolveTenant`, and to verify it. @default the `baseURL`, without a trailing slash (Fief's
   * issuer is its tenant's base URL, `https://{domain}/{slug}`)
   */
  issuer?: string;
  /** Merged over the shared `login` options (typically `redirectUri` differs per tenant). */
  login?: Partial<FiefLoginOptions>;
}

/**
 * Options of `FiefModule.forRoot` / `forRootAsync` with several Fief tenants in one app. See
 * "Several tenants" in the README.
 *
 * @example
 * FiefModule.forRoot({
 *   tenants: {
 *     acme: { baseURL: 'https://fief.example.com/acme', clientId: '…', clientSecret: '…' },
 *     globex: { baseURL: 'https://fief.example.com/globex', clientId: '…', clientSecret: '…' },
 *   },
 *   globalGuard: true,
 * })
 */
export interface FiefTenantsModuleOptions extends FiefModuleSharedOptions {
  /** The tenants, by name (the name `request.fief.tenant` and `@FiefTenant()` give). */
  tenants: Record<string, FiefTenantOptions>;
  /**
   * The tenant of a request. Without it, a bearer token chooses its tenant by its `iss`, matched
   * exactly against the tenants' issuers (then fully verified by that tenant); with it, only the
   * named tenant's credentials are accepted. Required with `login`.
   */
  resolveTenant?: FiefTenantResolver;
  /** The login options every tenant shares (e.g. `cookieSecret`); each tenant's `login` is merged over them. */
  login?: Partial<FiefLoginOptions>;
}

/** Either shape of options `FiefModule` accepts. */
export type FiefModuleConfig = FiefModuleOptions | FiefTenantsModuleOptions;

/** Options that shape the module itself, given next to the others in both `forRoot` and `forRootAsync`. */
export interface FiefModuleExtras {
  /** Register the module globally, so `FiefService` and the guard work in every module. @default false */
  isGlobal?: boolean;
  /** Register `FiefAuthGuard` as `APP_GUARD`: every route needs a token unless `@Public()`. @default false */
  globalGuard?: boolean;
  /**
   * Register the passport strategy `'fief'` (when `@nestjs/passport` is installed) and the app-wide
   * interceptor that completes `AuthGuard('fief')`. Turn off in apps that only use `FiefAuthGuard`,
   * to spare every route that interceptor. Give a subclass of `FiefStrategy` (from
   * `nestjs-fief/passport`) to register it instead. @default true
   */
  passport?: boolean | Type<unknown>;
  /**
   * Prefix the auth controller is mounted at, or `false` for none (the session cookie still works).
   * It is the one login prefix setting: `@LoginRedirect()` sends browsers to `/{authController}/login`.
   * Static, because Nest reads controller paths when modules are declared.
   * @default forRoot: `login.path ?? 'auth'` when `login` is given, else false; forRootAsync: 'auth'
   *   (the controller answers 404 while the factory's options have no `login`)
   */
  authController?: string | false;
  /**
   * Register `FiefErrorFilter` app-wide (`APP_FILTER`): a `FiefError` escaping the app's own
   * handlers (e.g. a `FiefService.updateProfile` call) answers 503 + `Retry-After` when Fief is down
   * and the matching 4xx when Fief refuses, instead of Nest's 500. `false` leaves them to the app.
   * @default true
   */
  errorFilter?: boolean;
}

/** The shared options checked, with every default applied. */
export interface ResolvedFiefSharedOptions extends FiefModuleSharedOptions {
  realm: string;
  tokenExtractors: FiefTokenExtractors;
  userInfoCacheTtl: number;
  userInfoCacheMaxEntries: number;
  retryAfter: number;
}

/** {@link FiefModuleOptions} checked, with every default applied (one tenant's). */
export interface ResolvedFiefModuleOptions extends FiefModuleOptions {
  realm: string;
  tokenExtractors: FiefTokenExtractors;
  userInfoCacheTtl: number;
  userInfoCacheMaxEntries: number;
  retryAfter: number;
}

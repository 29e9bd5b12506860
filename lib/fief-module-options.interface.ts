import type { ExecutionContext } from '@nestjs/common';
import type { FiefClientOptions } from './client/types.js';
import type { FiefAuthFailure } from './auth/fief-auth-failure.js';
import type { FiefTokenExtractors } from './auth/token-extractor.js';
import type { FiefUserInfoCache } from './auth/user-info-cache.js';
import type { FiefLoginOptions } from './login/login-options.interface.js';
import type { FiefStore } from './store/fief-store.interface.js';
import type { FiefWebhookOptions } from './webhooks/fief-webhook-options.js';

/**
 * Options of `FiefModule.forRoot` / the factory of `forRootAsync`: the `FiefClient` options plus
 * how the guard reads credentials, answers refusals and caches user info.
 *
 * @example
 * FiefModule.forRoot({ baseURL: 'https://example.fief.dev', clientId: '…', clientSecret: '…', realm: 'castles' })
 */
export interface FiefModuleOptions extends FiefClientOptions {
  /** `realm` of the `WWW-Authenticate` challenges (RFC 6750 §3). @default 'fief' */
  realm?: string;
  /**
   * Where tokens come from, by `ExecutionContext` type; merged over the defaults.
   * @default { http: bearerHeaderExtractor } (`Authorization: Bearer`, scheme case-insensitive)
   */
  tokenExtractors?: FiefTokenExtractors;
  /**
   * Store of the user info `@CurrentUser()` fetches from Fief. Give one to share it between
   * instances. @default an in-memory LRU of `userInfoCacheMaxEntries` entries
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
   * Browser login flow: the auth controller (`/auth/login`, `/auth/callback`, `/auth/logout`,
   * `/auth/me`) and the encrypted session cookie the guard accepts besides bearer tokens.
   * Off when absent. See "Web app login" in the README.
   */
  login?: FiefLoginOptions;
  /**
   * State shared by every instance of the app (login single use, user info, session refresh,
   * webhook replay), e.g. `new RedisFiefStore(redis)`. @default in memory, per instance
   */
  store?: FiefStore;
  /** Verification of Fief's webhook deliveries by `FiefWebhookGuard`. Off when absent. */
  webhooks?: FiefWebhookOptions;
}

/** Options that shape the module itself, given next to the others in both `forRoot` and `forRootAsync`. */
export interface FiefModuleExtras {
  /** Register the module globally, so `FiefService` and the guard work in every module. @default false */
  isGlobal?: boolean;
  /** Register `FiefAuthGuard` as `APP_GUARD`: every route needs a token unless `@Public()`. @default false */
  globalGuard?: boolean;
  /**
   * Register the passport strategy `'fief'` (when `@nestjs/passport` is installed) and the app-wide
   * interceptor that completes `AuthGuard('fief')`. Turn off in apps that only use `FiefAuthGuard`,
   * to spare every route that interceptor. @default true
   */
  passport?: boolean;
  /**
   * Prefix the auth controller is mounted at, or `false` for none (the session cookie still works).
   * Static, because Nest reads controller paths when modules are declared.
   * @default forRoot: `login.path ?? 'auth'` when `login` is given, else false; forRootAsync: false
   */
  authController?: string | false;
}

/** {@link FiefModuleOptions} checked, with every default applied. */
export interface ResolvedFiefModuleOptions extends FiefModuleOptions {
  realm: string;
  tokenExtractors: FiefTokenExtractors;
  userInfoCacheTtl: number;
  userInfoCacheMaxEntries: number;
  retryAfter: number;
}

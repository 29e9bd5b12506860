/**
 * The names this package reports under: a contract for dashboards and alerts (documented in the
 * README, "Telemetry"). Attribute names follow OpenTelemetry's HTTP semantic conventions where one
 * exists; the rest live under `fief.`.
 */
export const FIEF_INSTRUMENTATION_SCOPE = 'nestjs-fief';

/**
 * Key of an internal client option (never public): the name of the tenant a `FiefClient` serves, which
 * its spans and metrics carry as `fief.tenant`. A registered symbol, so copies of the module agree on it.
 */
export const FIEF_TELEMETRY_TENANT: unique symbol = Symbol.for('nestjs-fief:telemetry-tenant');

/** Span names, one per kind of call to Fief. */
export const FIEF_SPAN = {
  discovery: 'fief.discovery',
  jwks: 'fief.jwks',
  token: 'fief.token',
  userinfo: 'fief.userinfo',
  userApi: 'fief.user_api',
} as const;

/** The kind of a call to Fief, as the `fief.call` attribute says it. */
export type FiefCallKind = 'discovery' | 'jwks' | 'token' | 'userinfo' | 'user_api';

/** Instrument names. */
export const FIEF_METRIC = {
  /** Histogram, seconds: how long each call to Fief took, answered or not. */
  requestDuration: 'fief.client.request.duration',
  /** Counter: access tokens verified (cache misses that reached the signature check), by `fief.outcome`. */
  verifications: 'fief.token.verifications',
  /** Observable counter: cache lookups by `fief.cache` and `fief.cache.result`. */
  cacheLookups: 'fief.cache.lookups',
  /** Counter: requests refused by the guard, strategy or transports, by `http.response.status_code`. */
  refusals: 'fief.auth.refusals',
} as const;

/** Attribute names. */
export const FIEF_ATTRIBUTE = {
  call: 'fief.call',
  tenant: 'fief.tenant',
  outcome: 'fief.outcome',
  cache: 'fief.cache',
  cacheResult: 'fief.cache.result',
  error: 'fief.error',
  method: 'http.request.method',
  status: 'http.response.status_code',
  urlTemplate: 'url.template',
  urlFull: 'url.full',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
} as const;

/** What became of an access-token verification. */
export type FiefVerificationOutcome = 'valid' | 'invalid' | 'expired' | 'unavailable' | 'error';

/** The caches whose lookups are counted. */
export type FiefCacheName = 'verified_token' | 'user_info';

import {
  openTelemetryApi,
  type OtelAttributes,
  type OtelCounter,
  type OtelHistogram,
  type OtelMeterProvider,
  type OtelObservableCounter,
  type OtelObservableResult,
} from './opentelemetry-api.js';
import {
  FIEF_ATTRIBUTE,
  FIEF_INSTRUMENTATION_SCOPE,
  FIEF_METRIC,
  type FiefCacheName,
  type FiefVerificationOutcome,
} from './telemetry-names.js';

/**
 * Lookups of one cache. The owner increments the fields itself, which is all a cache hit pays: no call,
 * no allocation, nothing when no SDK is there. They are read only when a metric reader collects
 * (an observable counter), so an app without a MeterProvider never reads them at all.
 */
export interface FiefCacheStats {
  hits: number;
  misses: number;
}

interface CacheEntry {
  stats: FiefCacheStats;
  hit: OtelAttributes;
  miss: OtelAttributes;
}

/** Keyed by cache and tenant, shared by every instance: counts stay monotonic when a client is dropped. */
const caches = new Map<string, CacheEntry>();

/** HTTP histogram buckets of OpenTelemetry's semantic conventions, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

interface Instruments {
  provider: OtelMeterProvider;
  verifications: OtelCounter;
  refusals: OtelCounter;
  duration: OtelHistogram;
  lookups: OtelObservableCounter;
}

let instruments: Instruments | undefined;

/** Attributes without the absent ones: SDKs warn about `undefined` values. */
export function attributes(values: OtelAttributes): OtelAttributes {
  const defined: OtelAttributes = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) defined[key] = value;
  return defined;
}

/** The counters of a cache (one object per cache name and tenant, for the life of the process). */
export function fiefCacheStats(cache: FiefCacheName, tenant?: string): FiefCacheStats {
  const key = `${cache}\u0000${tenant ?? ''}`;
  let entry = caches.get(key);
  if (entry === undefined) {
    const base = attributes({ [FIEF_ATTRIBUTE.cache]: cache, [FIEF_ATTRIBUTE.tenant]: tenant });
    entry = {
      stats: { hits: 0, misses: 0 },
      hit: { ...base, [FIEF_ATTRIBUTE.cacheResult]: 'hit' },
      miss: { ...base, [FIEF_ATTRIBUTE.cacheResult]: 'miss' },
    };
    caches.set(key, entry);
  }
  return entry.stats;
}

function observeCaches(result: OtelObservableResult): void {
  for (const { stats, hit, miss } of caches.values()) {
    result.observe(stats.hits, hit);
    result.observe(stats.misses, miss);
  }
}

/**
 * The instruments on the meter of the MeterProvider registered now. The metrics API has no proxy (a
 * meter taken before the SDK is registered stays a no-op forever), so the provider is compared at each
 * event and the instruments are made again when it changed. Events are rare (a cache miss, a refusal,
 * a call to Fief); cache hits never come here.
 */
export function fiefInstruments(): Instruments | undefined {
  const api = openTelemetryApi();
  if (api === undefined) return undefined;
  const provider = api.metrics.getMeterProvider();
  if (instruments?.provider === provider) return instruments;
  instruments?.lookups.removeCallback(observeCaches);
  const meter = provider.getMeter(FIEF_INSTRUMENTATION_SCOPE);
  instruments = {
    provider,
    verifications: meter.createCounter(FIEF_METRIC.verifications, {
      description: 'Access tokens verified (signature and claims), by outcome',
      unit: '{verification}',
    }),
    refusals: meter.createCounter(FIEF_METRIC.refusals, {
      description: 'Requests refused for authentication, by HTTP status',
      unit: '{request}',
    }),
    duration: meter.createHistogram(FIEF_METRIC.requestDuration, {
      description: 'Duration of calls to Fief',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    lookups: meter.createObservableCounter(FIEF_METRIC.cacheLookups, {
      description: 'Lookups of the verified-token and user-info caches, by result',
      unit: '{lookup}',
    }),
  };
  instruments.lookups.addCallback(observeCaches);
  return instruments;
}

/** Attribute sets are few (outcomes × tenants, statuses × errors × tenants): built once each, not per event. */
const attributeSets = new Map<string, OtelAttributes>();

function attributeSet(key: string, build: () => OtelAttributes): OtelAttributes {
  let set = attributeSets.get(key);
  if (set === undefined) {
    set = attributes(build());
    attributeSets.set(key, set);
  }
  return set;
}

/** Counts one access-token verification. */
export function recordVerification(outcome: FiefVerificationOutcome, tenant?: string): void {
  const set = attributeSet(`v\u0000${outcome}\u0000${tenant ?? ''}`, () => ({ [FIEF_ATTRIBUTE.outcome]: outcome, [FIEF_ATTRIBUTE.tenant]: tenant }));
  fiefInstruments()?.verifications.add(1, set);
}

/**
 * Counts the verification's outcome when it settles and hands the same result on. With no
 * `@opentelemetry/api` installed the promise is returned untouched.
 */
export function observeVerification<T>(verification: Promise<T>, tenant?: string): Promise<T> {
  if (openTelemetryApi() === undefined) return verification;
  return verification.then(
    (value) => {
      recordVerification('valid', tenant);
      return value;
    },
    (error: unknown) => {
      recordVerification(verificationOutcome(error), tenant);
      throw error;
    },
  );
}

/** The client's stable error codes (`FiefError.code`) of a verification's outcomes. */
const OUTCOME_BY_CODE: Record<string, FiefVerificationOutcome> = {
  FIEF_ACCESS_TOKEN_EXPIRED: 'expired',
  FIEF_ACCESS_TOKEN_INVALID: 'invalid',
  FIEF_UNAVAILABLE: 'unavailable',
};

/** Class names for errors without a known code (a subclass with a code of its own): most derived first. */
const OUTCOME_BY_CLASS: Record<string, FiefVerificationOutcome> = {
  FiefAccessTokenExpired: 'expired',
  FiefAccessTokenInvalid: 'invalid',
  FiefUnavailableError: 'unavailable',
};

/**
 * The outcome a verification error stands for. This folder imports nothing from `client/`, so the
 * error classes are recognised by their stable `code`, else by class name along the prototype chain
 * (most derived first: an expired token is never counted as merely invalid). Anything else: `error`.
 */
export function verificationOutcome(error: unknown): FiefVerificationOutcome {
  if (error === null || typeof error !== 'object') return 'error';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && Object.hasOwn(OUTCOME_BY_CODE, code)) return OUTCOME_BY_CODE[code];
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (name !== undefined && Object.hasOwn(OUTCOME_BY_CLASS, name)) return OUTCOME_BY_CLASS[name];
  }
  return 'error';
}

/**
 * Counts one refusal: the moment a request's refusal becomes its answer.
 *
 * @param status the HTTP status answered (400, 401, 403, 503).
 * @param error the RFC 6750 error code, when the answer has one.
 */
export function recordRefusal(status: number, error?: string, tenant?: string): void {
  const set = attributeSet(`r\u0000${status}\u0000${error ?? ''}\u0000${tenant ?? ''}`, () => ({
    [FIEF_ATTRIBUTE.status]: status,
    [FIEF_ATTRIBUTE.error]: error,
    [FIEF_ATTRIBUTE.tenant]: tenant,
  }));
  fiefInstruments()?.refusals.add(1, set);
}

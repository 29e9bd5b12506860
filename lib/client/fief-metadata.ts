import { FiefRequestError, FiefUnavailableError } from './errors.js';
import { expectObject, requestFiefJson, type FiefHttpSettings } from './fief-http.js';
import { buildKeySet, hasFitKey, MIN_RSA_BITS, type PublishedKey } from './signing-keys.js';

/** The parts of Fief's discovery document the client uses. */
export interface FiefDiscovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  jwks_uri: string;
}

interface Cached<T> {
  value: T;
  /** Epoch ms after which the value is refreshed (and still served while the refresh fails). */
  refreshAt: number;
}


/**
 * Fief's discovery document and signing keys, fetched lazily and cached.
 *
 * - Single flight: a burst of first requests shares one discovery and one JWKS fetch.
 * - After `ttl`, values are refreshed; until a refresh succeeds the previous values are served,
 *   so known keys keep validating while Fief is down. A failed refresh is retried after `cooldown`.
 * - An unknown `kid` triggers one JWKS refetch, at most once per `cooldown` (key rotation without a
 *   restart, without letting junk tokens hammer Fief).
 */
export class FiefMetadata {
  private discoveryCache?: Cached<FiefDiscovery>;
  private discoveryFlight?: Promise<FiefDiscovery>;
  private lastDiscoveryAttempt = Number.NEGATIVE_INFINITY;
  private lastDiscoveryError?: unknown;
  private keysCache?: Cached<Map<string, PublishedKey>>;
  private keysFlight?: Promise<Map<string, PublishedKey>>;
  private lastKeysAttempt = Number.NEGATIVE_INFINITY;
  private lastKeysError?: FiefUnavailableError;
  /** Start of the last successful JWKS fetch: keys rotated in after it may be unknown yet. */
  private keysFetchedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly baseURL: string,
    private readonly http: FiefHttpSettings,
    private readonly ttl: number,
    private readonly cooldown: number,
    /** Clock skew tolerated between us and Fief, in ms. */
    private readonly clockTolerance = 0,
  ) {}

  /** The discovery document. @throws FiefUnavailableError when it was never fetched and cannot be. */
  async discovery(): Promise<FiefDiscovery> {
    const cached = this.discoveryCache;
    if (!cached) {
      // Never fetched and the last try failed: do not hammer a Fief that is down or restarting.
      if (this.lastDiscoveryError && Date.now() - this.lastDiscoveryAttempt < this.cooldown) throw this.lastDiscoveryError;
      return this.refreshDiscovery();
    }
    if (Date.now() >= cached.refreshAt) this.refreshDiscovery().catch(() => undefined);
    return cached.value;
  }

  /** The cached issuer while the discovery document is fresh: read without an await on a cache miss. */
  cachedIssuer(): string | undefined {
    const cached = this.discoveryCache;
    return cached !== undefined && Date.now() < cached.refreshAt ? cached.value.issuer : undefined;
  }

  /**
   * What the fresh cached key set publishes under `kid`, read synchronously; `undefined` when the set
   * is stale or missing or does not name the kid (then {@link signingKey} decides).
   */
  knownSigningKey(kid: string): PublishedKey | undefined {
    const cached = this.keysCache;
    return cached !== undefined && Date.now() < cached.refreshAt ? cached.value.get(kid) : undefined;
  }

  /**
   * What Fief publishes under this `kid` (the keys fit to verify, or why none is), or `undefined`
   * when it publishes nothing under it (even after the rate-limited refetch). A kid published with
   * unfit keys only is known: answered at once, with no refetch.
   *
   * @param issuedAt the token's `iat` (seconds), read only when the key is unknown.
   * @throws FiefUnavailableError when the keys could not be fetched to decide, or when the key may
   *   have been rotated in after the last fetch and the cooldown forbids another one yet: a valid
   *   token then gets "try again" (503), never "invalid" (401).
   */
  async signingKey(kid: string, issuedAt?: () => number | undefined): Promise<PublishedKey | undefined> {
    let keys = this.keysCache?.value;
    if (!keys) {
      if (this.lastKeysError && Date.now() - this.lastKeysAttempt < this.cooldown) throw this.lastKeysError;
      keys = await this.refreshKeys();
    }
    else if (Date.now() >= this.keysCache!.refreshAt) this.refreshKeys().catch(() => undefined);
    const known = keys.get(kid);
    if (known) return known;
    if (this.keysFlight) return (await this.keysFlight).get(kid);
    if (Date.now() - this.lastKeysAttempt >= this.cooldown) return (await this.refreshKeys()).get(kid);
    // Within the cooldown: if the last fetch failed we cannot tell whether the key exists.
    if (this.lastKeysError) throw this.lastKeysError;
    // A token issued before the key set we hold was fetched names a key Fief did not publish then:
    // refused. One issued since may be signed by a key rotated in meanwhile: we cannot tell yet.
    const iat = issuedAt?.();
    // `iat` has one-second granularity, hence the extra second.
    if (iat !== undefined && (iat + 1) * 1000 + this.clockTolerance >= this.keysFetchedAt) {
      throw new FiefUnavailableError(
        `Unknown signing key "${kid}" on a token issued after the last key fetch; keys are refetched at most every ${this.cooldown / 1000} s`,
      );
    }
    return undefined;
  }

  private refreshDiscovery(): Promise<FiefDiscovery> {
    this.discoveryFlight ??= this.fetchDiscovery()
      .then((value) => {
        this.discoveryCache = { value, refreshAt: Date.now() + this.ttl };
        this.lastDiscoveryError = undefined;
        return value;
      })
      .catch((error: unknown) => {
        this.lastDiscoveryError = error;
        if (this.discoveryCache) this.discoveryCache.refreshAt = Date.now() + this.cooldown;
        throw error;
      })
      .finally(() => (this.discoveryFlight = undefined));
    return this.discoveryFlight;
  }

  private refreshKeys(): Promise<Map<string, PublishedKey>> {
    const startedAt = Date.now();
    this.keysFlight ??= this.fetchKeys()
      .then((value) => {
        this.keysFetchedAt = startedAt;
        this.keysCache = { value, refreshAt: Date.now() + this.ttl };
        this.lastKeysError = undefined;
        return value;
      })
      .catch((error: unknown) => {
        this.lastKeysError =
          error instanceof FiefUnavailableError
            ? error
            : new FiefUnavailableError(`Fief keys could not be fetched: ${(error as Error)?.message ?? String(error)}`, { cause: error });
        if (this.keysCache) this.keysCache.refreshAt = Date.now() + this.cooldown;
        throw this.lastKeysError;
      })
      .finally(() => (this.keysFlight = undefined));
    return this.keysFlight;
  }

  /**
   * Discovery and JWKS are public documents: a 4xx there is no verdict on anyone's credentials but a
   * wrong baseURL or a broken Fief, so it must surface as "unavailable" (503), not as a request error.
   */
  private async requestMetadata(what: string, url: string): Promise<unknown> {
    try {
      return await requestFiefJson(this.http, what, url);
    } catch (error) {
      if (!(error instanceof FiefRequestError)) throw error;
      throw new FiefUnavailableError(`Fief ${what} at ${url} answered ${error.status}; check baseURL (and the tenant path)`, {
        cause: error,
      });
    }
  }

  private async fetchDiscovery(): Promise<FiefDiscovery> {
    this.lastDiscoveryAttempt = Date.now();
    const url = `${this.baseURL}/.well-known/openid-configuration`;
    const document = expectObject(await this.requestMetadata('discovery', url), `discovery document at ${url}`);
    const field = (name: keyof FiefDiscovery): string => {
      const value = document[name];
      if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
        throw new FiefUnavailableError(`Fief discovery document at ${url} has no valid "${name}"`);
      }
      return value;
    };
    return {
      issuer: field('issuer'),
      authorization_endpoint: field('authorization_endpoint'),
      token_endpoint: field('token_endpoint'),
      userinfo_endpoint: field('userinfo_endpoint'),
      jwks_uri: field('jwks_uri'),
    };
  }

  private async fetchKeys(): Promise<Map<string, PublishedKey>> {
    this.lastKeysAttempt = Date.now();
    const { jwks_uri: url } = await this.discovery();
    const jwks = expectObject(await this.requestMetadata('JWKS', url), `JWKS at ${url}`);
    if (!Array.isArray(jwks.keys)) throw new FiefUnavailableError(`Fief JWKS at ${url} has no "keys" array`);
    const keys = await buildKeySet(jwks.keys as unknown[]);
    if (!hasFitKey(keys)) {
      throw new FiefUnavailableError(`Fief JWKS at ${url} has no usable RS256 public signing key (RSA >= ${MIN_RSA_BITS} bits, with a kid)`);
    }
    return keys;
  }
}

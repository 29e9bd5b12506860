import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { FiefError, FiefIdTokenInvalid, FiefRequestError, FiefUnavailableError } from '../client/errors.js';
import type { FiefTokenResponse } from '../client/types.js';
import { FiefStoreUnavailableError } from '../store/fief-store.errors.js';
import type { FiefStore } from '../store/fief-store.interface.js';
import { FIEF_STORE } from '../store/fief-store.providers.js';
import { InMemoryFiefStore } from '../store/in-memory-fief-store.js';
import { runOnceShared } from '../store/shared-single-flight.js';
import { CookieSealer } from './cookie-sealer.js';
import { appendSetCookie, readCookie, type CookieRequest, type CookieResponse } from './http-cookies.js';
import { FIEF_LOGIN_CLIENT, FIEF_LOGIN_OPTIONS, FIEF_LOGIN_TENANT } from './login.constants.js';
import type { FiefLoginClient } from './login-client.interface.js';
import type { ResolvedFiefLoginOptions } from './login-options.interface.js';

/** What the session cookie holds: what the guard needs, nothing more. */
export interface FiefSession {
  /** The access token, validated by the guard like a bearer token. */
  accessToken: string;
  /** When the access token expires, in seconds since the epoch. */
  accessTokenExpiresAt: number;
  /** Present when Fief granted `offline_access`. */
  refreshToken?: string;
  /** When the session ends whatever happens, in seconds since the epoch. */
  expiresAt: number;
}

// A refresh made moments ago is reused for concurrent requests that still carry the old cookie:
// Fief rotates refresh tokens, so a second refresh with the old one would end the session.
const REFRESH_REUSE_MS = 30_000;
const MAX_REMEMBERED_REFRESHES = 1000;
// A refresh is a token request plus, at worst, discovery and JWKS fetches, each bounded by the
// client's timeout (5 s by default): a lock held longer belongs to an instance that died.
const SHARED_REFRESH_LOCK_MS = 20_000;
/** What a shared refresh leaves for the other instances when Fief refused it (the session ends). */
const ENDED = 'ended';

const now = (): number => Math.floor(Date.now() / 1000);

/**
 * Reads, writes and refreshes the encrypted session cookie of the browser login flow.
 * Framework-neutral: it takes the raw request and response of Express or Fastify.
 *
 * The guard calls {@link authenticate} to get the session's access token (refreshed when needed);
 * the auth controller calls {@link write} and {@link clear}.
 *
 * @example
 * const session = await sessions.authenticate(request, response);
 * if (session) await fief.validateAccessToken(session.accessToken);
 */
@Injectable()
export class FiefSessionService {
  private readonly logger = new Logger('FiefSession');
  private readonly sealer?: CookieSealer;
  private readonly refreshing = new Map<string, Promise<FiefSession | undefined>>();
  private readonly recentRefreshes = new Map<string, { session: FiefSession | undefined; until: number }>();
  private readonly shared?: { store: FiefStore; sealer: CookieSealer };
  private lastStoreWarning = Number.NEGATIVE_INFINITY;

  /**
   * @param options `null` when the app has not configured the login flow: the service then reads
   *   no session (bearer-only apps), and refuses to write one.
   */
  constructor(
    @Inject(FIEF_LOGIN_OPTIONS) private readonly loginOptions: ResolvedFiefLoginOptions | null,
    @Inject(FIEF_LOGIN_CLIENT) private readonly client: FiefLoginClient,
    /** FiefModule's `store`: a shared one makes a refresh single-flight across instances too. */
    @Optional() @Inject(FIEF_STORE) store?: FiefStore,
    /** With several tenants, the tenant whose sessions these are: sealed into each cookie and checked on read. */
    @Optional() @Inject(FIEF_LOGIN_TENANT) readonly tenant?: string,
  ) {
    if (loginOptions) this.sealer = new CookieSealer(loginOptions.cookieSecrets, 'session');
    // The in-memory store adds nothing to the per-instance single flight below.
    if (loginOptions && store && !(store instanceof InMemoryFiefStore)) {
      this.shared = { store, sealer: new CookieSealer(loginOptions.cookieSecrets, 'session-refresh') };
    }
  }

  /** Whether the login flow is configured (`login` options given). */
  get enabled(): boolean {
    return this.loginOptions !== null;
  }

  private get options(): ResolvedFiefLoginOptions {
    if (!this.loginOptions) {
      throw new FiefError('The login flow is not configured: give the `login` options (redirectUri, cookieSecret).');
    }
    return this.loginOptions;
  }

  /** Name of the session cookie. */
  get cookieName(): string {
    return this.options.sessionCookieName;
  }

  /** Whether the request carries a session cookie at all, valid or not. */
  hasCookie(request: CookieRequest): boolean {
    return this.enabled && readCookie(request, this.options.sessionCookieName) !== undefined;
  }

  /** The session of the request, or `undefined` when there is none or it is tampered, expired or foreign. */
  async read(request: CookieRequest): Promise<FiefSession | undefined> {
    if (!this.sealer) return undefined;
    const claims = await this.sealer.unseal(readCookie(request, this.options.sessionCookieName));
    // Another tenant's session is no session here (and a one-tenant cookie carries no tenant).
    if (claims?.tn !== this.tenant) return undefined;
    return sessionOf(claims);
  }

  /**
   * Builds the session for tokens Fief just issued. Without a refresh token the session ends with
   * the access token; with one it lasts `sessionMaxAge` from `startedAt` (the login).
   */
  fromTokens(tokens: FiefTokenResponse, startedAt = now()): FiefSession {
    const accessTokenExpiresAt = now() + tokens.expires_in;
    const refreshToken = this.options.refresh ? tokens.refresh_token : undefined;
    return {
      accessToken: tokens.access_token,
      accessTokenExpiresAt,
      expiresAt: refreshToken ? startedAt + this.options.sessionMaxAge : Math.min(accessTokenExpiresAt, startedAt + this.options.sessionMaxAge),
      ...(refreshToken && { refreshToken }),
    };
  }

  /**
   * Sets the session cookie: HttpOnly, SameSite=Lax, Path=/, Secure unless configured off for localhost.
   *
   * @throws FiefCookieTooLargeError when the cookie would pass the browser's 4 KB limit.
   */
  async write(response: CookieResponse, session: FiefSession): Promise<void> {
    const options = this.options; // throws when the login flow is not configured
    const value = await this.sealer!.seal(claimsOf(session, this.tenant), session.expiresAt);
    appendSetCookie(response, {
      name: options.sessionCookieName,
      value,
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies,
      path: '/',
      maxAge: Math.max(0, session.expiresAt - now()),
    });
  }

  /** Removes the session cookie from the browser. */
  clear(response: CookieResponse): void {
    appendSetCookie(response, {
      name: this.options.sessionCookieName,
      value: '',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.options.secureCookies,
      path: '/',
      maxAge: 0,
      expires: new Date(0),
    });
  }

  /** Whether the session's access token has expired or will within `refreshLeeway` seconds. */
  needsRefresh(session: FiefSession): boolean {
    return session.accessTokenExpiresAt - this.options.refreshLeeway <= now();
  }

  /**
   * Returns `session` as is while its access token is fresh. Once it has expired (or when `force`
   * is set, e.g. because the guard found it expired), refreshes it with the refresh token once,
   * even for concurrent requests carrying the same session, and re-sets the cookie on `response`.
   * A refresh Fief refuses ends the session (cookie cleared, `undefined`).
   *
   * @throws FiefUnavailableError when Fief cannot be reached: the session is kept, answer 503.
   */
  async refreshIfExpired(
    session: FiefSession,
    response?: CookieResponse,
    options: { force?: boolean } = {},
  ): Promise<FiefSession | undefined> {
    if (!options.force && !this.needsRefresh(session)) return session;
    if (!session.refreshToken) {
      if (response) this.clear(response);
      return undefined;
    }
    const refreshed = await this.refreshOnce(session);
    if (response) {
      if (refreshed) await this.write(response, refreshed);
      else this.clear(response);
    }
    return refreshed;
  }

  /**
   * What the guard calls: the request's session with a usable access token, refreshed if needed,
   * or `undefined` (no cookie, a bad one, or a session that ended; a bad cookie is cleared).
   *
   * @throws FiefUnavailableError when a refresh was needed and Fief cannot be reached.
   */
  async authenticate(request: CookieRequest, response?: CookieResponse): Promise<FiefSession | undefined> {
    const session = await this.read(request);
    if (!session) {
      if (response && this.hasCookie(request)) this.clear(response);
      return undefined;
    }
    return this.refreshIfExpired(session, response);
  }

  private refreshOnce(session: FiefSession): Promise<FiefSession | undefined> {
    const refreshToken = session.refreshToken as string;
    const recent = this.recentRefreshes.get(refreshToken);
    if (recent && recent.until > Date.now()) return Promise.resolve(recent.session);
    let pending = this.refreshing.get(refreshToken);
    if (!pending) {
      pending = (this.shared ? this.refreshShared(session, this.shared) : this.refresh(session)).finally(() =>
        this.refreshing.delete(refreshToken),
      );
      this.refreshing.set(refreshToken, pending);
    }
    return pending;
  }

  /**
   * The refresh, once across every instance sharing the store: the first takes a lock, refreshes
   * and leaves the sealed result for the others. A store that is down falls back to this
   * instance's single flight (two instances may then both refresh; Fief's rotation ends one of them).
   */
  private async refreshShared(session: FiefSession, shared: { store: FiefStore; sealer: CookieSealer }): Promise<FiefSession | undefined> {
    const key = `session:refresh:${createHash('sha256').update(session.refreshToken as string).digest('base64url')}`;
    let result: string;
    try {
      result = await runOnceShared(
        shared.store,
        key,
        async () => {
          const refreshed = await this.refresh(session);
          return refreshed ? shared.sealer.seal(claimsOf(refreshed), refreshed.expiresAt) : ENDED;
        },
        { lockTtl: SHARED_REFRESH_LOCK_MS, resultTtl: REFRESH_REUSE_MS, onStoreError: (error) => this.warnStore(error) },
      );
    } catch (error) {
      if (!(error instanceof FiefStoreUnavailableError)) throw error;
      this.warnStore(error);
      return this.refresh(session);
    }
    if (result === ENDED) return undefined;
    const refreshed = sessionOf(await shared.sealer.unseal(result));
    // Sealed by an instance with other cookie secrets: this one cannot use it, and must not refresh again.
    if (!refreshed) throw new FiefUnavailableError('A session refreshed by another instance cannot be opened here (do all instances share cookieSecret?)');
    return { ...refreshed, expiresAt: Math.min(refreshed.expiresAt, session.expiresAt) };
  }

  private warnStore(error: unknown): void {
    const now = Date.now();
    if (now - this.lastStoreWarning < 10_000) return;
    this.lastStoreWarning = now;
    this.logger.warn(`The FiefStore failed; session refreshes are single-flight per instance meanwhile: ${(error as Error)?.message}`);
  }

  private async refresh(session: FiefSession): Promise<FiefSession | undefined> {
    const refreshToken = session.refreshToken as string;
    let refreshed: FiefSession | undefined;
    try {
      const [tokens] = await this.client.authRefreshToken(refreshToken);
      const next = this.fromTokens(tokens);
      // The session keeps its original end: a refresh extends the access token, not the login.
      refreshed = { ...next, expiresAt: next.refreshToken ? session.expiresAt : Math.min(session.expiresAt, next.expiresAt) };
    } catch (error) {
      const refused =
        (error instanceof FiefRequestError && error.status >= 400 && error.status < 500) || error instanceof FiefIdTokenInvalid;
      if (!refused || error instanceof FiefUnavailableError) throw error;
      this.logger.log(`Fief refused to refresh a session (${error.message}); the session ends.`);
      refreshed = undefined;
    }
    this.remember(refreshToken, refreshed);
    return refreshed;
  }

  private remember(refreshToken: string, session: FiefSession | undefined): void {
    const nowMs = Date.now();
    for (const [key, entry] of this.recentRefreshes) {
      if (entry.until <= nowMs || this.recentRefreshes.size >= MAX_REMEMBERED_REFRESHES) this.recentRefreshes.delete(key);
      else break;
    }
    this.recentRefreshes.set(refreshToken, { session, until: nowMs + REFRESH_REUSE_MS });
  }
}

function claimsOf(session: FiefSession, tenant?: string): Record<string, unknown> {
  return {
    at: session.accessToken,
    ate: session.accessTokenExpiresAt,
    ...(session.refreshToken && { rt: session.refreshToken }),
    ...(tenant !== undefined && { tn: tenant }),
  };
}

/** The claims of a sealed session (the cookie, or a shared refresh's result) as a session, if well formed. */
function sessionOf(claims: Record<string, unknown> | undefined): FiefSession | undefined {
  if (!claims) return undefined;
  const { at, ate, rt, exp } = claims;
  if (typeof at !== 'string' || typeof ate !== 'number' || typeof exp !== 'number') return undefined;
  if (rt !== undefined && typeof rt !== 'string') return undefined;
  return { accessToken: at, accessTokenExpiresAt: ate, expiresAt: exp, ...(rt !== undefined && { refreshToken: rt }) };
}

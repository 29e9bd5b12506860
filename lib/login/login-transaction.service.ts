import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger, Optional, ServiceUnavailableException } from '@nestjs/common';
import { FiefError } from '../client/errors.js';
import type { FiefStore } from '../store/fief-store.interface.js';
import { FIEF_STORE } from '../store/fief-store.providers.js';
import { InMemoryFiefStore } from '../store/in-memory-fief-store.js';
import { CookieSealer } from './cookie-sealer.js';
import { appendSetCookie, readCookie, readCookies, type CookieRequest, type CookieResponse } from './http-cookies.js';
import { FIEF_LOGIN_CLIENT, FIEF_LOGIN_OPTIONS, LOGIN_TRANSACTION_TTL } from './login.constants.js';
import type { FiefLoginClient } from './login-client.interface.js';
import type { ResolvedFiefLoginOptions } from './login-options.interface.js';

/** The secrets of one login, from the redirect to Fief until the callback. */
export interface FiefLoginTransaction {
  /** Anti-CSRF value sent to Fief and expected back in the callback. */
  state: string;
  /** PKCE verifier whose S256 challenge went to Fief. */
  codeVerifier: string;
  /** OIDC nonce the ID token must carry. */
  nonce: string;
  /** Same-site path to land on after the login. */
  returnTo: string;
}

/** Why a callback's transaction was refused. */
export type FiefLoginTransactionFailure = 'malformed-state' | 'replayed' | 'missing';

// 32 random bytes in base64url: what `newSecret` makes. Anything else cannot be ours.
const STATE_FORMAT = /^[A-Za-z0-9_-]{43}$/;
/**
 * Logins a browser may have in flight at once (tabs, back button, abandoned logins). Each holds one
 * cookie of at most ~1.9 KB (a `returnTo` is at most 1 KB encoded); five of them and a session
 * cookie stay well inside the 16 KB of request headers Node, proxies and browsers accept.
 */
export const MAX_LOGIN_TRANSACTIONS = 5;
const MAX_REMEMBERED_STATES = 10_000;
const SLOT_SUFFIX = 'next';
// A cookie Path must be plain printable ASCII without `;` (RFC 6265 §4.1.1).
const COOKIE_PATH = /^\/[\x21-\x3A\x3C-\x7E]*$/;

const newSecret = (): string => randomBytes(32).toString('base64url');

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The login transaction, kept in a short-lived encrypted cookie (no server-side store, so any
 * instance behind a load balancer can finish the flow), sent only to the callback path.
 * Single-use: the callback clears it, and the used state is claimed in the FiefStore (atomic
 * set-if-absent) until it expires, so a callback replayed on another instance is refused too; a
 * store that cannot answer fails the callback closed (503) before any code is exchanged.
 *
 * Logins in flight are bounded: transactions go into {@link MAX_LOGIN_TRANSACTIONS} cookie slots
 * (`fief_login_0` …), used in turn, so two tabs logging in at once do not overwrite each other and
 * the next login after that evicts the oldest one (whose callback then answers 400 "start again")
 * instead of piling up cookies until the callback's headers are too large (431). Which slot comes
 * next is a tiny cookie (`fief_login_next`) sent only to the login route.
 */
@Injectable()
export class FiefLoginTransactions {
  private readonly logger = new Logger('FiefLogin');
  private readonly sealer?: CookieSealer;
  private readonly store: FiefStore;

  /** @param loginOptions `null` when the login flow is not configured: nothing here may then be used. */
  constructor(
    @Inject(FIEF_LOGIN_OPTIONS) private readonly loginOptions: ResolvedFiefLoginOptions | null,
    @Inject(FIEF_LOGIN_CLIENT) private readonly client: FiefLoginClient,
    /** FiefModule's `store`; without one (FiefLoginModule) used states are kept in this instance. */
    @Optional() @Inject(FIEF_STORE) store?: FiefStore,
  ) {
    if (loginOptions) this.sealer = new CookieSealer(loginOptions.cookieSecrets, 'login-transaction');
    this.store = store ?? new InMemoryFiefStore({ maxEntries: MAX_REMEMBERED_STATES });
  }

  // The provider exists in every FiefModule, configured or not; using it unconfigured says what is missing.
  private get options(): ResolvedFiefLoginOptions {
    if (!this.loginOptions) {
      throw new FiefError('The login flow is not configured: give the `login` options (redirectUri, cookieSecret).');
    }
    return this.loginOptions;
  }

  /** Name of the cookie of transaction slot `slot` (0 to {@link MAX_LOGIN_TRANSACTIONS} - 1). */
  cookieName(slot: number): string {
    return `${this.options.transactionCookieName}_${slot}`;
  }

  /**
   * Starts a login: fresh state, PKCE verifier and nonce, sealed into the next transaction slot's
   * cookie on `response`. `request` tells which slot is next and, through its path, where that is kept.
   */
  async begin(request: CookieRequest & { url?: string; originalUrl?: string }, response: CookieResponse, returnTo: string): Promise<FiefLoginTransaction> {
    const transaction: FiefLoginTransaction = {
      state: newSecret(),
      codeVerifier: await this.client.generateCodeVerifier(),
      nonce: newSecret(),
      returnTo,
    };
    const value = await this.sealer!.seal(
      { s: transaction.state, v: transaction.codeVerifier, n: transaction.nonce, r: transaction.returnTo },
      Math.floor(Date.now() / 1000) + LOGIN_TRANSACTION_TTL,
    );
    const next = `${this.options.transactionCookieName}_${SLOT_SUFFIX}`;
    const counter = readCookie(request, next);
    const current = counter !== undefined && /^\d$/.test(counter) && Number(counter) < MAX_LOGIN_TRANSACTIONS ? Number(counter) : 0;
    appendSetCookie(response, { ...this.cookieAttributes(current), value, maxAge: LOGIN_TRANSACTION_TTL });
    appendSetCookie(response, {
      ...this.cookieAttributes(current),
      name: next,
      value: String((current + 1) % MAX_LOGIN_TRANSACTIONS),
      maxAge: LOGIN_TRANSACTION_TTL,
      path: loginRoutePath(request) ?? this.options.loginPath,
    });
    return transaction;
  }

  /**
   * Ends the transaction of the callback's `state`: clears its cookie and returns it, or says why
   * there is none (a state we never issued, one already used here, or no valid cookie for it).
   */
  async consume(
    request: CookieRequest,
    response: CookieResponse,
    state: unknown,
  ): Promise<FiefLoginTransaction | FiefLoginTransactionFailure> {
    if (typeof state !== 'string' || !STATE_FORMAT.test(state)) return 'malformed-state';
    const found = await this.find(request, state);
    const clearCookie = () => {
      if (found) appendSetCookie(response, { ...this.cookieAttributes(found.slot), value: '', maxAge: 0, expires: new Date(0) });
    };
    const claims = found?.claims;
    const { v, n, r } = claims ?? {};
    if (!claims || typeof v !== 'string' || typeof n !== 'string' || typeof r !== 'string') {
      clearCookie();
      return (await this.wasUsed(state)) ? 'replayed' : 'missing';
    }
    const until = typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + LOGIN_TRANSACTION_TTL * 1000;
    let first: boolean;
    try {
      first = await this.store.setIfAbsent(usedStateKey(state), '1', Math.max(1000, until - Date.now()));
    } catch (error) {
      // Fail closed, and keep the cookie: once the store is back, the same callback can finish.
      this.logger.warn(`Cannot claim a login state in the FiefStore, the callback is refused with 503: ${(error as Error)?.message}`);
      throw new ServiceUnavailableException('The login cannot be completed right now. Try again in a moment.');
    }
    clearCookie();
    if (!first) return 'replayed';
    return { state, codeVerifier: v, nonce: n, returnTo: r };
  }

  /** The slot and claims of the transaction of `state`; at most one decryption per slot. */
  private async find(request: CookieRequest, state: string) {
    const cookies = readCookies(request);
    for (let slot = 0; slot < MAX_LOGIN_TRANSACTIONS; slot++) {
      const claims = await this.sealer!.unseal(cookies[this.cookieName(slot)]);
      if (claims && typeof claims.s === 'string' && sameString(claims.s, state)) return { slot, claims };
    }
    return undefined;
  }

  private cookieAttributes(slot: number) {
    return {
      name: this.cookieName(slot),
      httpOnly: true,
      // Lax, not Strict: the callback is a top-level navigation coming from Fief's site.
      sameSite: 'lax' as const,
      secure: this.options.secureCookies,
      path: this.options.callbackPath,
    };
  }

  /** Whether the state was already used; a store that cannot say counts as "not known" (the callback is refused anyway). */
  private wasUsed(state: string): Promise<boolean> {
    return this.store.get(usedStateKey(state)).then(
      (value) => value !== undefined,
      () => false,
    );
  }
}

/** The store key of a used state: hashed, the state itself never leaves the browser and Fief. */
function usedStateKey(state: string): string {
  return `login:state:${createHash('sha256').update(state).digest('base64url')}`;
}

/** The path the login route was reached at (global prefix included), when it can be a cookie Path. */
function loginRoutePath(request: { url?: string; originalUrl?: string }): string | undefined {
  const url = request.originalUrl ?? request.url;
  if (typeof url !== 'string') return undefined;
  let path: string;
  try {
    path = new URL(url, 'http://login.invalid').pathname;
  } catch {
    return undefined;
  }
  return COOKIE_PATH.test(path) ? path : undefined;
}

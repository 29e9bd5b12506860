import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { FiefError } from '../client/errors.js';
import { CookieSealer } from './cookie-sealer.js';
import { appendSetCookie, readCookie, type CookieRequest, type CookieResponse } from './http-cookies.js';
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
// How many characters of the state name the cookie: enough to tell concurrent logins apart.
const STATE_NAME_LENGTH = 16;
const MAX_REMEMBERED_STATES = 10_000;

const newSecret = (): string => randomBytes(32).toString('base64url');

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The login transaction, kept in a short-lived encrypted cookie (no server-side store, so any
 * instance behind a load balancer can finish the flow). One cookie per login, named after its
 * state, so two tabs logging in at once do not overwrite each other; sent only to the callback path.
 * Single-use: the callback clears it, and this instance remembers used states until they expire.
 */
@Injectable()
export class FiefLoginTransactions {
  private readonly usedStates = new Map<string, number>();
  private readonly sealer?: CookieSealer;

  /** @param loginOptions `null` when the login flow is not configured: nothing here may then be used. */
  constructor(
    @Inject(FIEF_LOGIN_OPTIONS) private readonly loginOptions: ResolvedFiefLoginOptions | null,
    @Inject(FIEF_LOGIN_CLIENT) private readonly client: FiefLoginClient,
  ) {
    if (loginOptions) this.sealer = new CookieSealer(loginOptions.cookieSecrets, 'login-transaction');
  }

  // The provider exists in every FiefModule, configured or not; using it unconfigured says what is missing.
  private get options(): ResolvedFiefLoginOptions {
    if (!this.loginOptions) {
      throw new FiefError('The login flow is not configured: give the `login` options (redirectUri, cookieSecret).');
    }
    return this.loginOptions;
  }

  /** Name of the cookie holding the transaction of `state`. */
  cookieName(state: string): string {
    return `${this.options.transactionCookieName}_${state.slice(0, STATE_NAME_LENGTH)}`;
  }

  /** Starts a login: fresh state, PKCE verifier and nonce, sealed into a cookie on `response`. */
  async begin(response: CookieResponse, returnTo: string): Promise<FiefLoginTransaction> {
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
    appendSetCookie(response, { ...this.cookieAttributes(transaction.state), value, maxAge: LOGIN_TRANSACTION_TTL });
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
    const name = this.cookieName(state);
    const raw = readCookie(request, name);
    if (raw !== undefined) {
      appendSetCookie(response, { ...this.cookieAttributes(state), value: '', maxAge: 0, expires: new Date(0) });
    }
    if (this.wasUsed(state)) return 'replayed';
    const claims = await this.sealer!.unseal(raw);
    if (!claims || typeof claims.s !== 'string' || !sameString(claims.s, state)) return 'missing';
    const { v, n, r } = claims;
    if (typeof v !== 'string' || typeof n !== 'string' || typeof r !== 'string') return 'missing';
    this.markUsed(state, typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + LOGIN_TRANSACTION_TTL * 1000);
    return { state, codeVerifier: v, nonce: n, returnTo: r };
  }

  private cookieAttributes(state: string) {
    return {
      name: this.cookieName(state),
      httpOnly: true,
      // Lax, not Strict: the callback is a top-level navigation coming from Fief's site.
      sameSite: 'lax' as const,
      secure: this.options.secureCookies,
      path: this.options.callbackPath,
    };
  }

  private wasUsed(state: string): boolean {
    const until = this.usedStates.get(state);
    return until !== undefined && until > Date.now();
  }

  private markUsed(state: string, until: number): void {
    const nowMs = Date.now();
    for (const [key, expiry] of this.usedStates) {
      if (expiry <= nowMs || this.usedStates.size >= MAX_REMEMBERED_STATES) this.usedStates.delete(key);
      else break;
    }
    this.usedStates.set(state, until);
  }
}

/**
 * Options of the browser login flow (the auth controller and the session cookie).
 *
 * @example
 * {
 *   redirectUri: 'https://app.example.com/auth/callback', // registered in Fief as is
 *   cookieSecret: process.env.COOKIE_SECRET!,             // ≥ 32 bytes, e.g. `openssl rand -base64 32`
 *   scope: ['openid'],
 * }
 */
export interface FiefLoginOptions {
  /**
   * Absolute URL of the callback route, exactly as registered on the Fief client. It is
   * configuration on purpose: building it from `Host` / `X-Forwarded-Host` would let a forged
   * header steer the authorization code elsewhere.
   */
  redirectUri: string;
  /**
   * Secret the session and transaction cookies are encrypted with, at least 32 bytes. Give a list
   * to rotate: the first one encrypts, every one decrypts.
   */
  cookieSecret: string | string[];
  /** Where Fief sends the browser after logging out. @default the origin of `redirectUri` + `/` */
  postLogoutRedirectUri?: string;
  /** Route prefix of the auth controller (`login`, `callback`, `logout`, `me`). @default 'auth' */
  path?: string;
  /** Scopes to ask for besides `openid` (always asked) and `offline_access` (see `refresh`). */
  scope?: string[];
  /**
   * Ask for `offline_access` and refresh expired access tokens transparently.
   * @default true
   */
  refresh?: boolean;
  /** Name of the session cookie. @default 'fief_session' */
  sessionCookieName?: string;
  /** Name prefix of the short-lived login transaction cookies. @default 'fief_login' */
  transactionCookieName?: string;
  /**
   * Set `Secure` on the cookies. Only an `http://localhost`, `http://127.0.0.1` or `http://[::1]`
   * `redirectUri` may turn it off (browsers refuse `Secure` cookies over plain http elsewhere).
   * @default true
   */
  secureCookies?: boolean;
  /**
   * Lifetime of a session in seconds, counted from the login and kept across refreshes. Without a
   * refresh token, the session ends with its access token.
   * @default 2592000 (30 days, Fief's refresh token lifetime)
   */
  sessionMaxAge?: number;
  /** Seconds before the access token's expiry at which it is refreshed. @default 30 */
  refreshLeeway?: number;
  /** Where to land after login when no safe `returnTo` was given. @default '/' */
  defaultReturnTo?: string;
  /**
   * Path of the login route, where {@link LoginRedirect} sends unauthenticated browsers. Set it
   * when the app has a global prefix. @default `/${path}/login`
   */
  loginPath?: string;
  /** Language of Fief's login pages, e.g. `fr-FR`. */
  lang?: string;
  /**
   * The Fief client is public: it has no secret, and the code exchange relies on PKCE alone (always
   * on). Without it, a login flow whose client has no `clientSecret` is refused at start-up.
   * @default false
   */
  publicClient?: boolean;
}

/** {@link FiefLoginOptions} checked, with every default applied. */
export interface ResolvedFiefLoginOptions {
  redirectUri: string;
  /** Path of `redirectUri`: the transaction cookies are sent there only. */
  callbackPath: string;
  cookieSecrets: string[];
  postLogoutRedirectUri: string;
  path: string;
  scope: string[];
  refresh: boolean;
  sessionCookieName: string;
  transactionCookieName: string;
  secureCookies: boolean;
  sessionMaxAge: number;
  refreshLeeway: number;
  defaultReturnTo: string;
  loginPath: string;
  publicClient: boolean;
  lang?: string;
}

import { FiefError } from '../client/errors.js';
import type { FiefLoginOptions, ResolvedFiefLoginOptions } from './login-options.interface.js';
import { normalizeReturnTo } from './return-to.js';

const MIN_SECRET_BYTES = 32;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
// RFC 6265 cookie-name = token; kept to the safe subset so names need no quoting anywhere.
const COOKIE_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,64}$/;

/**
 * Checks the cookie secrets and returns them as a non-empty list.
 *
 * @throws FiefError when the list is empty or a secret is shorter than 32 bytes.
 */
export function normalizeCookieSecrets(secret: unknown): string[] {
  const secrets = Array.isArray(secret) ? secret : [secret];
  if (secrets.length === 0) {
    throw new FiefError('login.cookieSecret is an empty list: give at least one secret of 32 bytes or more.');
  }
  secrets.forEach((value, index) => {
    const label = Array.isArray(secret) ? `login.cookieSecret[${index}]` : 'login.cookieSecret';
    if (typeof value !== 'string') {
      throw new FiefError(`${label} must be a string of at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 32\`).`);
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes < MIN_SECRET_BYTES) {
      throw new FiefError(
        `${label} is ${bytes} bytes; it must be at least ${MIN_SECRET_BYTES} (e.g. \`openssl rand -base64 32\`).`,
      );
    }
  });
  return secrets as string[];
}

function parseAbsoluteUrl(name: string, value: unknown): URL {
  if (typeof value !== 'string' || value.length === 0) {
    throw new FiefError(`${name} is required: the absolute URL registered in Fief, e.g. https://app.example.com/auth/callback.`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FiefError(`${name} "${value}" is not an absolute URL (e.g. https://app.example.com/auth/callback).`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new FiefError(`${name} "${value}" must be an http or https URL.`);
  }
  if (url.hash) {
    throw new FiefError(`${name} "${value}" must not have a fragment (OAuth 2.0 forbids it in redirect URIs).`);
  }
  return url;
}

function cookieName(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !COOKIE_NAME.test(value)) {
    throw new FiefError(`${name} "${String(value)}" is not a valid cookie name (1 to 64 letters, digits and !#$%&'*+-.^_\`|~).`);
  }
  return value;
}

function positiveInteger(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new FiefError(`${name} must be an integer ≥ ${min} (seconds), got ${String(value)}.`);
  }
  return value;
}

/** What the login options are checked against: the secret of the Fief client, if it has one. */
export interface FiefLoginClientCredentials {
  clientSecret?: unknown;
}

/**
 * What can be known of a login client's secret, from Fief client options (`{ clientId, clientSecret }`,
 * e.g. `FiefModule`'s) or a `FiefService` (its `options`); `undefined` for anything else, which is
 * then not checked at start-up (a missing secret shows as `invalid_client` at the first callback).
 */
export function loginClientCredentials(source: unknown): FiefLoginClientCredentials | undefined {
  // Plain option objects only: a client instance (`FiefClient`) shows its clientId but hides its secret.
  const isClientOptions = (value: unknown): value is FiefLoginClientCredentials =>
    typeof value === 'object' && value !== null && 'clientId' in value && [Object.prototype, null].includes(Object.getPrototypeOf(value));
  if (isClientOptions(source)) return { clientSecret: source.clientSecret };
  const options = (source as { options?: unknown } | null)?.options;
  return isClientOptions(options) ? { clientSecret: options.clientSecret } : undefined;
}

// A public client (an SPA-like app with no secret) is legitimate with PKCE, which is always on; a
// missing secret by mistake is not: every callback would then fail with `invalid_client`.
function checkClientKind(publicClient: unknown, client: FiefLoginClientCredentials | undefined): boolean {
  if (publicClient !== undefined && typeof publicClient !== 'boolean') {
    throw new FiefError('login.publicClient must be a boolean.');
  }
  if (!client) return publicClient === true;
  const hasSecret = typeof client.clientSecret === 'string' && client.clientSecret !== '';
  if (!hasSecret && publicClient !== true) {
    throw new FiefError(
      'login is configured but the Fief client has no clientSecret: give clientSecret (a confidential client, ' +
        "Fief's default), or set login.publicClient: true if the Fief client is public (PKCE is always used).",
    );
  }
  if (hasSecret && publicClient === true) {
    throw new FiefError('login.publicClient is true but a clientSecret is set: a public client has no secret; remove one of them.');
  }
  return publicClient === true;
}

/**
 * Validates the login options and applies the defaults. Call it at start-up: each mistake gets
 * its own message, and nothing here does I/O.
 *
 * @param client what is known of the Fief client the flow logs in with: its `clientSecret` (absent
 *   or empty for a public client). Given, a login flow without a secret must say `publicClient: true`.
 * @throws FiefError with a message naming the faulty option.
 * @example
 * const options = resolveFiefLoginOptions({ redirectUri: 'http://localhost:3000/auth/callback',
 *   cookieSecret: process.env.COOKIE_SECRET!, secureCookies: false });
 */
export function resolveFiefLoginOptions(options: FiefLoginOptions, client?: FiefLoginClientCredentials): ResolvedFiefLoginOptions {
  if (options === null || typeof options !== 'object') {
    throw new FiefError('login options must be an object with at least redirectUri and cookieSecret.');
  }
  const redirect = parseAbsoluteUrl('login.redirectUri', options.redirectUri);
  const cookieSecrets = normalizeCookieSecrets(options.cookieSecret);

  const postLogoutRedirectUri =
    options.postLogoutRedirectUri === undefined
      ? `${redirect.origin}/`
      : parseAbsoluteUrl('login.postLogoutRedirectUri', options.postLogoutRedirectUri).href;

  const secureCookies = options.secureCookies ?? true;
  if (typeof secureCookies !== 'boolean') {
    throw new FiefError('login.secureCookies must be a boolean.');
  }
  if (!secureCookies && !(redirect.protocol === 'http:' && LOOPBACK_HOSTS.has(redirect.hostname))) {
    throw new FiefError(
      `login.secureCookies may be false only for a plain-http localhost redirectUri, not "${redirect.href}": ` +
        'anywhere else the session cookie must be Secure.',
    );
  }

  const path = (options.path ?? 'auth').replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9\-._~/]*$/.test(path)) {
    throw new FiefError(`login.path "${options.path}" must be a plain route path such as "auth".`);
  }

  const scope = options.scope ?? [];
  if (!Array.isArray(scope) || scope.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
    throw new FiefError('login.scope must be a list of scope strings (no spaces, RFC 6749 §3.3).');
  }

  const refresh = options.refresh ?? true;
  if (typeof refresh !== 'boolean') throw new FiefError('login.refresh must be a boolean.');

  const defaultReturnTo = normalizeReturnTo(options.defaultReturnTo ?? '/');
  if (defaultReturnTo === undefined) {
    throw new FiefError(`login.defaultReturnTo "${String(options.defaultReturnTo)}" must be a same-site path such as "/" or "/home".`);
  }
  const loginPath = normalizeReturnTo(options.loginPath ?? `/${path ? `${path}/` : ''}login`);
  if (loginPath === undefined) {
    throw new FiefError(`login.loginPath "${String(options.loginPath)}" must be a same-site path such as "/auth/login".`);
  }
  const publicClient = checkClientKind(options.publicClient, client);
  if (options.lang !== undefined && (typeof options.lang !== 'string' || !/^[A-Za-z0-9-]{2,35}$/.test(options.lang))) {
    throw new FiefError(`login.lang "${String(options.lang)}" must be a language tag such as "fr-FR".`);
  }

  return {
    redirectUri: redirect.href,
    callbackPath: redirect.pathname,
    cookieSecrets,
    postLogoutRedirectUri,
    path,
    scope: [...new Set(['openid', ...scope, ...(refresh ? ['offline_access'] : [])])],
    refresh,
    sessionCookieName: cookieName('login.sessionCookieName', options.sessionCookieName, 'fief_session'),
    transactionCookieName: cookieName('login.transactionCookieName', options.transactionCookieName, 'fief_login'),
    secureCookies,
    sessionMaxAge: positiveInteger('login.sessionMaxAge', options.sessionMaxAge, 30 * 24 * 3600, 60),
    refreshLeeway: positiveInteger('login.refreshLeeway', options.refreshLeeway, 30, 0),
    defaultReturnTo,
    loginPath,
    publicClient,
    ...(options.lang !== undefined && { lang: options.lang }),
  };
}

/**
 * Shapes exchanged with a Fief tenant. Names follow Fief's own clients (snake_case where the wire
 * format uses it) so that code and docs written for `fief-client` read the same here.
 */

/** Tokens returned by Fief's token endpoint after a code exchange or a refresh. */
export interface FiefTokenResponse {
  /** Access token to call your API and the Fief API with. */
  access_token: string;
  /** ID token (already verified by the client) carrying the user's claims. */
  id_token: string;
  /** Type of token, `bearer` for Fief. */
  token_type: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  /** Present only when the `offline_access` scope was granted. */
  refresh_token?: string;
}

/**
 * The user's claims, as Fief's userinfo endpoint and ID tokens give them.
 *
 * @example
 * { sub: 'aeeb8bfa-…', email: 'anne@bretagne.duchy', tenant_id: 'c91ecb7f-…', fields: { first_name: 'Anne' } }
 */
export interface FiefUserInfo {
  /** ID of the user. */
  sub: string;
  /** Email address of the user. */
  email: string;
  /** Whether the email address was verified. */
  email_verified?: boolean;
  /** Whether the account is active. */
  is_active?: boolean;
  /** ID of the tenant the user belongs to. */
  tenant_id: string;
  /** User fields, indexed by their slug. */
  fields?: Record<string, unknown>;
  [claim: string]: unknown;
}

/** What a validated access token grants. */
export interface FiefAccessTokenInfo {
  /** ID of the user (the token's `sub`). */
  id: string;
  /** Granted scopes. */
  scope: string[];
  /** Authentication Context Class Reference: how strongly the user authenticated. */
  acr: FiefACR;
  /** Granted permissions (direct and through roles). */
  permissions: string[];
  /** The access token itself, to call the Fief API on the user's behalf. */
  access_token: string;
  /** Expiry of the token, in seconds since the epoch. */
  exp: number;
}

/** Authentication levels Fief issues: `0` for a session, `1` for a fresh login (password, email changes). */
export enum FiefACR {
  LEVEL_ZERO = '0',
  LEVEL_ONE = '1',
}

/** Parameters of {@link FiefClient.authUrl}. */
export interface FiefAuthUrlParameters {
  /** Opaque value returned in the callback; use it against CSRF. */
  state?: string;
  /** Scopes to ask for; `openid` is always added. */
  scope?: string[];
  /** PKCE code challenge, from {@link FiefClient.getCodeChallenge}. */
  codeChallenge?: string;
  /** PKCE method: `S256` (recommended) or `plain`. */
  codeChallengeMethod?: 'plain' | 'S256';
  /** OIDC nonce, bound into the ID token and checked by {@link FiefClient.authCallback}. */
  nonce?: string;
  /** Language of Fief's pages, e.g. `fr-FR`. */
  lang?: string;
  /** Any other query parameter (e.g. `login_hint`, `prompt`). */
  extrasParams?: Record<string, string>;
}

/** Parameters of {@link FiefClient.authCallback}. */
export interface FiefAuthCallbackParameters {
  /** The PKCE verifier whose challenge went into the authorization URL. */
  codeVerifier?: string;
  /** The nonce that went into the authorization URL; the ID token must carry it. */
  nonce?: string;
}

/** Parameters of {@link FiefClient.authRefreshToken}. */
export interface FiefRefreshParameters {
  /** Narrower scopes for the new tokens; defaults to those first granted. */
  scope?: string[];
}

/** Requirements of {@link FiefClient.validateAccessToken}. */
export interface FiefValidateParameters {
  /** Every one of these scopes must be granted. */
  requiredScope?: string[];
  /** Minimum authentication level. */
  requiredAcr?: FiefACR;
  /** Every one of these permissions must be granted. */
  requiredPermissions?: string[];
}

/** The `fetch` the client uses; defaults to the global one. */
export type FiefFetch = typeof globalThis.fetch;

/** Options of {@link FiefClient}. */
export interface FiefClientOptions {
  /** Base URL of the Fief tenant, e.g. `https://example.fief.dev` (with the tenant slug path if any). */
  baseURL: string;
  /** ID of the Fief client. */
  clientId: string;
  /** Secret of the Fief client. Omit only for a public client (which must use PKCE). */
  clientSecret?: string;
  /** Private JWK (JSON string) to decrypt ID tokens, when ID token encryption is enabled on the client. */
  encryptionKey?: string;
  /** Timeout of every request to Fief, in milliseconds. @default 5000 */
  requestTimeout?: number;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. @default 30 */
  clockTolerance?: number;
  /**
   * Furthest ahead a token's `exp` may be, in seconds: a token that says it lives longer is refused
   * as not shaped like Fief's (a forged or broken `exp` such as `1e15` would otherwise never expire).
   * Fief's per-client token lifetimes have no upper limit, so the default is far above any lifetime
   * an operator would set on purpose. @default 315360000 (10 years)
   */
  maxTokenLifetime?: number;
  /**
   * Accept a `baseURL` over plain `http://` on a host that is not loopback (`localhost`,
   * `127.0.0.0/8`, `::1`). Off by default: tokens, codes and the client secret would cross the
   * network in clear. Turn on only for a network you trust (e.g. a sidecar on a private network).
   * @default false
   */
  allowInsecureHttp?: boolean;
  /** `fetch` implementation. @default globalThis.fetch */
  fetch?: FiefFetch;
  /**
   * The issuer tokens must carry. @default the `issuer` of the discovery document (Fief always
   * advertises an `https` issuer, even when reached over http).
   */
  issuer?: string;
  /** Audiences accepted besides `clientId` (e.g. other clients of the same tenant your API serves). */
  allowedAudiences?: string[];
  /** How long discovery and JWKS are cached, in seconds. @default 3600 */
  metadataTtl?: number;
  /** Minimum interval between two JWKS refetches triggered by an unknown `kid`, in seconds. @default 10 */
  jwksCooldown?: number;
  /**
   * Bounds of the verified-token cache of {@link FiefClient.verifyAccessToken}, or `false` to verify
   * every token every time. An entry never outlives its token's `exp`.
   * @default { maxEntries: 10000, maxBytes: 16 MiB, maxAge: 300 }
   */
  tokenCache?: FiefTokenCacheOptions | false;
}

/** Bounds of the verified-token cache. */
export interface FiefTokenCacheOptions {
  /** Most tokens kept. @default 10000 */
  maxEntries?: number;
  /** Most bytes kept (tokens and what they grant, estimated). @default 16777216 */
  maxBytes?: number;
  /**
   * Longest a token stays cached, in seconds, whatever its `exp`: bounds how long a token signed by
   * a key Fief has since withdrawn keeps passing. @default 300
   */
  maxAge?: number;
}

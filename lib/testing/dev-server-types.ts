import type { JWK } from 'jose';

/** A user of a dev server tenant. */
export interface FiefDevUser {
  /** UUID; generated when absent. */
  id?: string;
  email: string;
  /** User fields, by slug. */
  fields?: Record<string, unknown>;
  /** Permission codenames granted to the user, e.g. `castles:read`. */
  permissions?: string[];
  /** @default true */
  emailVerified?: boolean;
  /** @default true */
  isActive?: boolean;
  /** @default the id of the user's tenant */
  tenantId?: string;
}

/** A client (application) registered in a dev server tenant. */
export interface FiefDevClient {
  clientId: string;
  /** Absent for a public client, which must then use PKCE. */
  clientSecret?: string;
  /** Exact redirect URIs; by default any `http://127.0.0.1:*` or `http://localhost:*` URL is accepted. */
  redirectUris?: string[];
  /** Public JWK: ID tokens for this client are encrypted to it (RSA-OAEP-256 / A256CBC-HS512). */
  encryptionKey?: JWK;
  /** Lifetime of access and ID tokens, in seconds. @default 86400 */
  accessTokenTtl?: number;
}

/** An endpoint that receives the tenant's signed webhooks, as configured in Fief's admin. */
export interface FiefDevWebhook {
  /** Where the events are POSTed. */
  url: string;
  /** The webhook's secret: each delivery carries HMAC-SHA256(secret, `"{timestamp}.{body}"`). */
  secret: string;
}

/** What one tenant of a {@link FiefDevServer} holds: its users, clients, key and webhooks. */
export interface FiefDevTenantOptions {
  /** Issuer of the tenant's tokens. @default `<server issuer or base URL>/<slug>`, the base URL for the default tenant */
  issuer?: string;
  /** @default DEFAULT_DEV_USERS */
  users?: readonly FiefDevUser[];
  /** @default [DEFAULT_DEV_CLIENT] */
  clients?: readonly FiefDevClient[];
  /** Size of the tenant's RSA signing key (Fief uses 4096). @default 2048, or the server's */
  keySize?: 2048 | 4096;
  /** Lifetime of refresh tokens, in seconds. @default 30 days, or the server's */
  refreshTokenTtl?: number;
  /** Receivers of the tenant's webhooks. @default none, or the server's for the default tenant */
  webhooks?: readonly FiefDevWebhook[];
  /** Tenant name, as shown in webhook payloads. @default the slug */
  name?: string;
}

/** Options of {@link FiefDevServer}: the server's own, and those of its default tenant (served at the root). */
export interface FiefDevServerOptions extends FiefDevTenantOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** When false, logs each request and every server error of oidc-provider to the console. @default true */
  silent?: boolean;
  /**
   * More tenants, each served under `/{slug}` with its own key, issuer, users, clients and webhooks, as
   * Fief serves them. Slugs are lowercase letters, digits and dashes. `keySize` and `refreshTokenTtl`
   * default to the server's.
   */
  tenants?: Readonly<Record<string, FiefDevTenantOptions>>;
  /** Timeout of one webhook delivery attempt, in milliseconds. @default 5000 */
  webhookTimeout?: number;
  /** Attempts of one webhook delivery (Fief retries a failed one). @default 3 */
  webhookAttempts?: number;
  /** Wait before the first retry, in milliseconds; it doubles for each further one. @default 100 */
  webhookRetryDelay?: number;
}

/** The endpoints whose requests are counted and which can be made to fail. */
export type FiefDevEndpoint = 'discovery' | 'jwks' | 'authorize' | 'token' | 'userinfo' | 'profile';

/** How an endpoint fails under {@link FiefDevServer.setFault}. */
export type FiefDevFault = 'down' | 'hang' | 'html' | '500' | `slow:${number}`;

/** A login that came back to the client with a code. */
export interface FiefDevLoginSuccess {
  ok: true;
  /** Where the browser would be sent back to the client. */
  url: string;
  code: string;
  state?: string;
  error?: undefined;
  error_description?: undefined;
}

/** A login that came back to the client with an OAuth error (e.g. `access_denied` for an inactive user). */
export interface FiefDevLoginFailure {
  ok: false;
  /** Where the browser would be sent back to the client. */
  url: string;
  error: string;
  error_description?: string;
  state?: string;
  code?: undefined;
}

/**
 * What the browser would be sent back to the client with, after a login: narrow it with `ok` (or
 * `error`) to get `code` as a `string`.
 */
export type FiefDevLoginResult = FiefDevLoginSuccess | FiefDevLoginFailure;

/** Users of a fresh dev server: one with every castle permission, one who may only read. */
export const DEFAULT_DEV_USERS: readonly FiefDevUser[] = Object.freeze([
  {
    email: 'anne@bretagne.duchy',
    fields: { first_name: 'Anne', last_name: 'De Bretagne' },
    permissions: ['castles:read', 'castles:create'],
  },
  { email: 'guest@example.com', fields: { first_name: 'Guest' }, permissions: ['castles:read'] },
]);

/** The client of a fresh dev server. */
export const DEFAULT_DEV_CLIENT: Readonly<FiefDevClient> = Object.freeze({
  clientId: 'fief-dev-client',
  clientSecret: 'fief-dev-secret',
});

import type { webcrypto } from 'node:crypto';
import type { JWK, JWTPayload } from 'jose';
import { checkWebhook } from './dev-server-checks.js';
import { signWith } from './dev-server-keys.js';
import { headlessLogin } from './dev-server-login.js';
import { DAY } from './dev-server-provider.js';
import type { DevServerLink, DevTenantCore } from './dev-server-tenant-core.js';
import type { FiefDevUserUpdate } from './dev-server-users.js';
import type { FiefDevWebhookDelivery } from './dev-server-webhooks.js';
import type {
  FiefDevClient,
  FiefDevEndpoint,
  FiefDevFault,
  FiefDevLoginResult,
  FiefDevUser,
  FiefDevWebhook,
} from './dev-server-types.js';

/** Options of {@link FiefDevTenant.issueAccessToken}. */
export interface FiefDevAccessTokenOptions {
  /** Email or id of the user. @default the tenant's first user */
  user?: string;
  /** @default the tenant's first client */
  clientId?: string;
  /** @default ['openid'] */
  scope?: string[];
  /** @default the user's permissions */
  permissions?: string[];
  /** @default '0' */
  acr?: '0' | '1';
  /** Seconds. @default the client's token lifetime */
  expiresIn?: number;
  /** Claims to add or override; an `undefined` value removes the claim. */
  claims?: Record<string, unknown>;
  /** Header fields to override. */
  header?: Record<string, unknown>;
}

/** Options of {@link FiefDevTenant.issueIdToken}. */
export interface FiefDevIdTokenOptions {
  user?: string;
  clientId?: string;
  nonce?: string;
  expiresIn?: number;
  claims?: Record<string, unknown>;
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * One tenant of a {@link FiefDevServer}: its users, clients, signing key, faults and webhooks, and
 * helpers to mint its tokens and log in to it. The server itself is its default tenant (served at the
 * root); `server.tenant('acme')` gives the tenant served under `/acme`.
 *
 * @example
 * const fief = new FiefDevServer({ tenants: { acme: {}, globex: { keySize: 4096 } } });
 * await fief.start();
 * const acme = fief.tenant('acme');
 * // FiefModule.forRoot({ tenants: { acme: { baseURL: acme.baseURL, clientId: acme.clients[0].clientId, … } } })
 * const token = await acme.issueAccessToken({ user: 'anne@bretagne.duchy' });
 */
export class FiefDevTenant {
  /** @param core obtained from {@link FiefDevServer}; a tenant is never built on its own. */
  constructor(protected readonly core: DevTenantCore) {}

  /** The tenant's slug (its path on the server); undefined for the default tenant. */
  get slug(): string | undefined {
    return this.core.slug;
  }

  /** ID of the tenant every user belongs to unless said otherwise. */
  get tenantId(): string {
    return this.core.tenantId;
  }

  /** Requests served by this tenant, by endpoint. */
  get requestCounts(): Record<FiefDevEndpoint, number> {
    return this.core.faults.counts;
  }

  /** Base URL of the tenant, e.g. `http://127.0.0.1:43123/acme` (what `FiefModule` takes as `baseURL`). */
  get baseURL(): string {
    return this.core.baseURL;
  }

  /** Issuer of the tenant's tokens: `<base>/{slug}` (the base URL for the default tenant) unless configured. */
  get issuer(): string {
    return this.core.issuer;
  }

  /** The tenant's users, with their ids: the live list, which {@link addUser} extends. */
  get users(): FiefDevUser[] {
    return this.core.users.list;
  }

  /** The tenant's clients. */
  get clients(): FiefDevClient[] {
    return this.core.clients;
  }

  /** The key that signs from now on (private), to forge tokens with exact claims in tests. */
  get signingKey(): { kid: string; privateKey: webcrypto.CryptoKey; publicJwk: JWK } {
    const key = this.core.keys[0];
    if (!key) throw new Error('FiefDevServer is not started: call start() first');
    return { kid: key.kid, privateKey: key.privateKey, publicJwk: key.publicJwk };
  }

  /** Adds a user to the tenant and returns it with its id; sends `user.created`. */
  addUser(user: FiefDevUser): FiefDevUser {
    return this.core.users.add(user);
  }

  /** A user by email or id. */
  findUser(emailOrId: string): FiefDevUser | undefined {
    return this.core.users.find(emailOrId);
  }

  /**
   * Changes a user in place (`fields` are merged) and sends `user.updated`; a new `permissions` list
   * sends `user_permission.deleted` / `.created` for each permission removed / added, as Fief does.
   * Throws for an unknown user.
   */
  updateUser(emailOrId: string, update: FiefDevUserUpdate): FiefDevUser {
    return this.core.users.update(emailOrId, update);
  }

  /** Removes a user (its tokens stop working at the user API) and sends `user.deleted`. */
  deleteUser(emailOrId: string): FiefDevUser {
    return this.core.users.delete(emailOrId);
  }

  /**
   * Grants a permission to a user and sends `user_permission.created`; false (and no event) when it
   * was already granted. Tokens issued from now on carry it.
   */
  grantPermission(emailOrId: string, codename: string): boolean {
    return this.core.users.grant(emailOrId, codename);
  }

  /** Revokes a permission and sends `user_permission.deleted`; false (and no event) when it was not granted. */
  revokePermission(emailOrId: string, codename: string): boolean {
    return this.core.users.revoke(emailOrId, codename);
  }

  /** Zeroes {@link requestCounts}. */
  resetRequestCounts(): void {
    this.core.faults.reset();
  }

  /**
   * Makes an endpoint of this tenant fail until called again with `null`: `down` resets the
   * connection, `hang` never answers, `html` answers a 200 HTML page, `500` an HTTP 500, `slow:<ms>`
   * answers late.
   */
  setFault(endpoint: FiefDevEndpoint | 'all', fault: FiefDevFault | null): void {
    this.core.faults.set(endpoint, fault);
  }

  /**
   * A new signing key signs from now on. The previous public key stays in the JWKS unless
   * `keepOld` is false, the way a tenant rotates keys.
   */
  rotateSigningKey(options: { keepOld?: boolean } = {}): Promise<void> {
    return this.core.rotateSigningKey(options.keepOld !== false);
  }

  /** Signs a Fief-shaped access token of this tenant directly (no HTTP). */
  async issueAccessToken(options: FiefDevAccessTokenOptions = {}): Promise<string> {
    const user = this.core.users.get(options.user);
    const client = this.core.clientFor(options.clientId);
    const iat = now();
    const claims: JWTPayload = {
      iss: this.issuer,
      sub: user.id,
      aud: [client.clientId],
      azp: client.clientId,
      exp: iat + (options.expiresIn ?? client.accessTokenTtl ?? DAY),
      iat,
      auth_time: iat,
      acr: options.acr ?? '0',
      scope: (options.scope ?? ['openid']).join(' '),
      permissions: options.permissions ?? user.permissions ?? [],
    };
    return signWith(this.currentKey(), claims, options.claims, options.header);
  }

  /** Signs a Fief-shaped ID token of this tenant directly (not encrypted). */
  async issueIdToken(options: FiefDevIdTokenOptions = {}): Promise<string> {
    const user = this.core.users.get(options.user);
    const client = this.core.clientFor(options.clientId);
    const iat = now();
    const claims: JWTPayload = {
      ...this.core.userClaims(user),
      iss: this.issuer,
      aud: [client.clientId],
      azp: client.clientId,
      exp: iat + (options.expiresIn ?? client.accessTokenTtl ?? DAY),
      iat,
      auth_time: iat,
      acr: '1',
      ...(options.nonce ? { nonce: options.nonce } : {}),
    };
    return signWith(this.currentKey(), claims, options.claims);
  }

  /**
   * Completes a login without a browser: follows `authorizeUrl` (of any tenant of this server)
   * through the dev server's own interaction, as the user given by `login_hint` (or `email`), over
   * real HTTP, and returns where the browser would be sent back to the client, with the code or the
   * error. Throws when the login cannot come back at all (unknown user, refused redirect URI).
   *
   * @example
   * const result = await fief.login(authorizeUrl, { email: 'anne@bretagne.duchy' });
   * if (!result.ok) throw new Error(result.error);
   * result.code; // string
   */
  login(authorizeUrl: string, options: { email?: string } = {}): Promise<FiefDevLoginResult> {
    return headlessLogin(authorizeUrl, new URL(this.baseURL).origin, options.email);
  }

  /** The verification code "sent" by the last email change of a user. */
  getEmailVerificationCode(emailOrId: string): string | undefined {
    const user = this.findUser(emailOrId);
    return user && this.core.verificationCodes.get(user.id!)?.code;
  }

  /**
   * Adds a receiver of this tenant's webhooks (on the server itself: of every tenant's), e.g. the
   * app under test once it listens.
   */
  addWebhook(webhook: FiefDevWebhook): void {
    checkWebhook(webhook, 'FiefDevServer.addWebhook');
    this.webhookList().push({ url: webhook.url, secret: webhook.secret });
  }

  /** Removes the receivers at `url`. */
  removeWebhook(url: string): void {
    const list = this.webhookList();
    for (let index = list.length - 1; index >= 0; index--) if (list[index].url === url) list.splice(index, 1);
  }

  /** Sends any event (e.g. `client.updated`, or a type Fief does not have) to this tenant's webhooks. */
  sendWebhook(type: string, data: unknown): void {
    this.core.sendWebhook(type, data);
  }

  /** Webhook deliveries of this tenant's events so far, oldest first (on the server itself: of every tenant). */
  get webhookDeliveries(): FiefDevWebhookDelivery[] {
    return this.deliveries().filter((delivery) => delivery.tenant === this.slug);
  }

  /** Resolves once every webhook delivery queued so far (retries included) is settled; gives this tenant's deliveries. */
  async flushWebhooks(): Promise<FiefDevWebhookDelivery[]> {
    await this.link().webhooks.flush();
    return this.webhookDeliveries;
  }

  protected link(): DevServerLink {
    return this.core.link;
  }

  protected webhookList(): FiefDevWebhook[] {
    return this.core.ownWebhooks;
  }

  protected deliveries(): FiefDevWebhookDelivery[] {
    return this.link().webhooks.deliveries;
  }

  private currentKey() {
    const key = this.core.keys[0];
    if (!key) throw new Error('FiefDevServer is not started: call start() first');
    return key;
  }
}

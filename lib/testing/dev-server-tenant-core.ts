import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { default as Provider } from 'oidc-provider';
import { checkClient, checkTenantOptions } from './dev-server-checks.js';
import { DevFaults, USER_ENDPOINTS } from './dev-server-faults.js';
import { acceptPlainPkce, askConsentForOfflineAccess, markSessionReused, shapeTokenResponse } from './dev-server-fief-shims.js';
import { sendJson } from './dev-server-http.js';
import { interact, logout } from './dev-server-interaction.js';
import { createSigningKey, type SigningKey } from './dev-server-keys.js';
import { clientMetadata, createDevProvider, DAY, discoveryDocument } from './dev-server-provider.js';
import { createMemoryAdapter } from './dev-server-store.js';
import { serveUserApi } from './dev-server-user-api.js';
import { DevUsers, type DevUserChange } from './dev-server-users.js';
import { eventData } from './dev-server-webhook-events.js';
import type { DevWebhooks } from './dev-server-webhooks.js';
import {
  DEFAULT_DEV_CLIENT,
  DEFAULT_DEV_USERS,
  type FiefDevClient,
  type FiefDevServerOptions,
  type FiefDevTenantOptions,
  type FiefDevUser,
  type FiefDevWebhook,
} from './dev-server-types.js';

const LOCAL_REDIRECT = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//;

/** What the tenants of one server share: its address once listening, oidc-provider, the webhook sender. */
export interface DevServerLink {
  options: FiefDevServerOptions;
  base?: string;
  /** oidc-provider's class once loaded; typed loosely so that the published declarations never name the optional peer. */
  ProviderClass?: new (...args: never[]) => unknown;
  webhooks: DevWebhooks;
  /** Webhooks that receive every tenant's events (Fief's webhooks belong to the workspace). */
  serverWebhooks: FiefDevWebhook[];
}

/**
 * One tenant's state and HTTP behaviour: users, clients, keys, its oidc-provider and faults. Served at
 * the root for the default tenant (`slug` undefined), under `/{slug}` otherwise.
 */
export class DevTenantCore {
  readonly tenantId = randomUUID();
  readonly createdAt = new Date().toISOString();
  readonly users: DevUsers;
  readonly clients: FiefDevClient[];
  readonly keys: SigningKey[] = [];
  readonly faults = new DevFaults();
  readonly verificationCodes = new Map<string, { code: string; email: string }>();
  /** Webhooks of this tenant only. */
  readonly ownWebhooks: FiefDevWebhook[];
  /** Local redirect URIs seen at /authorize, by client, for the clients that list none of their own. */
  private readonly localRedirects = new Map<string, Set<string>>();
  private readonly adapter = createMemoryAdapter((clientId) => {
    const client = this.clients.find((c) => c.clientId === clientId);
    return client && clientMetadata(client, this.localRedirectsOf(client.clientId));
  });
  private readonly cookieKeys = [randomBytes(32).toString('hex')];
  private provider?: Provider;
  private providerCallback?: ReturnType<Provider['callback']>;

  constructor(
    readonly slug: string | undefined,
    private readonly options: FiefDevTenantOptions,
    readonly link: DevServerLink,
  ) {
    const where = slug === undefined ? 'FiefDevServer' : `FiefDevServer tenant ${slug}`;
    checkTenantOptions(options, where);
    this.users = new DevUsers(this.tenantId, (change) => this.changed(change));
    for (const user of options.users ?? DEFAULT_DEV_USERS) this.users.add(user, { silent: true });
    const defaultClient = slug === undefined ? DEFAULT_DEV_CLIENT : { clientId: `fief-dev-client-${slug}`, clientSecret: `fief-dev-secret-${slug}` };
    this.clients = (options.clients ?? [defaultClient]).map((client) => ({ ...client }));
    if (this.clients.length === 0) throw new Error(`${where} needs at least one client`);
    this.clients.forEach((client, index) => checkClient(client, this.clients.slice(0, index)));
    this.ownWebhooks = slug === undefined ? [] : [...(options.webhooks ?? [])];
  }

  get keySize(): 2048 | 4096 {
    return this.options.keySize ?? this.link.options.keySize ?? 2048;
  }

  /** `/{slug}`, or '' for the default tenant. */
  get prefix(): string {
    return this.slug === undefined ? '' : `/${this.slug}`;
  }

  get baseURL(): string {
    if (!this.link.base) throw new Error('FiefDevServer is not started: call start() first');
    return `${this.link.base}${this.prefix}`;
  }

  get issuer(): string {
    if (this.options.issuer) return this.options.issuer.replace(/\/$/, '');
    const root = this.link.options.issuer?.replace(/\/$/, '') ?? this.link.base;
    if (!root) throw new Error('FiefDevServer is not started: call start() first');
    return `${root}${this.prefix}`;
  }

  get name(): string {
    return this.options.name ?? this.slug ?? 'Default';
  }

  /** The webhooks this tenant's events go to. */
  get webhooks(): FiefDevWebhook[] {
    return [...this.link.serverWebhooks, ...this.ownWebhooks];
  }

  clientFor(clientId?: string): FiefDevClient {
    const client = clientId ? this.clients.find((c) => c.clientId === clientId) : this.clients[0];
    if (!client) throw new Error(`FiefDevServer has no client ${clientId}`);
    return client;
  }

  userClaims(user: FiefDevUser): Record<string, unknown> {
    return {
      sub: user.id,
      email: user.email,
      email_verified: user.emailVerified,
      is_active: user.isActive,
      tenant_id: user.tenantId,
      fields: user.fields,
    };
  }

  /** Creates the first signing key and the provider; called once the server listens. */
  async activate(): Promise<void> {
    if (this.keys.length === 0) this.keys.push(await createSigningKey(this.keySize));
    this.setProvider();
  }

  async rotateSigningKey(keepOld: boolean): Promise<void> {
    const key = await createSigningKey(this.keySize);
    if (!keepOld) this.keys.length = 0;
    this.keys.unshift(key);
    if (this.provider) this.setProvider();
  }

  /** Sends an event to this tenant's webhooks (and the server's). */
  sendWebhook(type: string, data: unknown): void {
    this.link.webhooks.send(this.webhooks, type, data, this.slug);
  }

  private changed(change: DevUserChange) {
    if (this.webhooks.length === 0) return;
    const tenant = { id: this.tenantId, name: this.name, slug: this.slug ?? 'default', default: this.slug === undefined, createdAt: this.createdAt };
    this.sendWebhook(change.type, eventData(change, tenant, this.users.timesOf(change.user)));
  }

  /** The provider signs with the keys it was built with, so a key rotation builds a new one on the same storage. */
  private setProvider() {
    this.provider = createDevProvider(this.link.ProviderClass as typeof Provider, {
      issuer: this.issuer,
      prefix: this.prefix,
      keys: this.keys,
      adapter: this.adapter,
      cookieKeys: this.cookieKeys,
      refreshTokenTtl: this.options.refreshTokenTtl ?? this.link.options.refreshTokenTtl ?? 30 * DAY,
      silent: this.link.options.silent !== false,
      findUser: (emailOrId) => this.users.find(emailOrId),
      userClaims: (user) => this.userClaims(user),
      clientFor: (clientId) => this.clientFor(clientId),
    });
    this.providerCallback = this.provider.callback();
  }

  private localRedirectsOf(clientId: string): string[] {
    const seen = [...(this.localRedirects.get(clientId) ?? [])];
    // oidc-provider needs at least one; this one is never the URI of a real request.
    return seen.length > 0 ? seen : ['http://127.0.0.1/callback'];
  }

  /**
   * Fief checks redirect URIs exactly; the dev server by default accepts any local URL, so that
   * tests and the sample can use whatever port they got. It does so without touching oidc-provider:
   * a local URI met at /authorize is registered on the client (whose metadata oidc-provider reads
   * through the adapter), and oidc-provider's own exact check then passes.
   */
  private learnLocalRedirect(url: URL) {
    const clientId = url.searchParams.get('client_id') ?? '';
    const client = this.clients.find((c) => c.clientId === clientId);
    const redirectUri = url.searchParams.get('redirect_uri') ?? '';
    if (!client || client.redirectUris || !LOCAL_REDIRECT.test(redirectUri)) return;
    if (!URL.canParse(redirectUri) || new URL(redirectUri).hash) return;
    const seen = this.localRedirects.get(clientId) ?? new Set<string>();
    this.localRedirects.set(clientId, seen.add(redirectUri));
  }

  /**
   * Serves a request whose path, `path`, is relative to the tenant (its prefix stripped). oidc-provider
   * finds the prefix in `req.baseUrl`, as when it is mounted in Express, to build its own URLs.
   */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (await this.faults.apply(path, req, res)) return;
    if (path === '/.well-known/openid-configuration') return sendJson(res, 200, discoveryDocument(this.baseURL, this.issuer));
    if (path === '/.well-known/jwks.json') return sendJson(res, 200, { keys: this.keys.map((key) => key.publicJwk) });
    const provider = this.provider!;
    (req as IncomingMessage & { baseUrl?: string }).baseUrl = this.prefix;
    req.url = `${path}${url.search}`;
    if (path === '/logout') return await logout(provider, req, res, url);
    if (USER_ENDPOINTS.has(path)) {
      const context = { issuer: this.issuer, keys: this.keys, clientIds: this.clients.map((c) => c.clientId), users: this.users };
      return await serveUserApi({ ...context, verificationCodes: this.verificationCodes, userClaims: (u) => this.userClaims(u) }, path, req, res);
    }
    const interaction = /^\/interaction\/([\w-]+)(\/login)?$/.exec(path);
    if (interaction) {
      const action = `${this.prefix}/interaction/${interaction[1]}/login`;
      return await interact(provider, this.users, req, res, action, Boolean(interaction[2])).catch((error: unknown) => {
        if ((error as { name?: unknown }).name !== 'SessionNotFound') throw error;
        sendJson(res, 400, { error: 'invalid_request', error_description: 'This login expired or is unknown: start it again' });
      });
    }
    if (path === '/authorize') {
      this.learnLocalRedirect(url);
      acceptPlainPkce(url);
      askConsentForOfflineAccess(url);
      req.url = `${path}${url.search}`;
      await markSessionReused(provider, req, res);
    }
    if (path === '/api/token') shapeTokenResponse(res, provider);
    await this.providerCallback!(req, res);
  }
}

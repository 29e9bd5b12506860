import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { checkSlug } from './dev-server-checks.js';
import { sendJson } from './dev-server-http.js';
import { DevTenantCore, type DevServerLink } from './dev-server-tenant-core.js';
import { DevWebhooks, type FiefDevWebhookDelivery } from './dev-server-webhooks.js';
import { FiefDevTenant } from './fief-dev-tenant.js';
import type { FiefDevServerOptions, FiefDevTenantOptions, FiefDevWebhook } from './dev-server-types.js';

// What this file exported before it was split, for code that imports it directly.
export { DEFAULT_DEV_CLIENT, DEFAULT_DEV_USERS } from './dev-server-types.js';
export type { FiefDevClient, FiefDevEndpoint, FiefDevFault, FiefDevLoginResult, FiefDevServerOptions, FiefDevUser } from './dev-server-types.js';

/**
 * A Fief-compatible server for the sample app and for tests, built on `oidc-provider`: Fief's paths,
 * token shapes and user API, in-memory users and clients, signed webhooks, and helpers to mint
 * tokens, log in headlessly, rotate keys and inject faults. The server is its default tenant, served
 * at the root; more tenants (`tenants` option) are served under `/{slug}`, each with its own key,
 * issuer, users, clients and webhooks, as Fief serves them.
 *
 * @example
 * const fief = new FiefDevServer();
 * const baseURL = await fief.start();
 * const token = await fief.issueAccessToken({ user: 'anne@bretagne.duchy' });
 * // … FiefModule.forRoot({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' })
 * await fief.stop();
 */
export class FiefDevServer extends FiefDevTenant {
  private readonly shared: DevServerLink;
  private readonly tenants = new Map<string, DevTenantCore>();
  private readonly handles = new Map<string, FiefDevTenant>();
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  private starting?: Promise<string>;

  constructor(options: FiefDevServerOptions = {}) {
    const { webhookTimeout = 5000, webhookAttempts = 3, webhookRetryDelay = 100 } = options;
    if (!(Number.isInteger(webhookTimeout) && webhookTimeout > 0)) throw new Error('FiefDevServer: webhookTimeout must be a positive number of milliseconds');
    if (!(Number.isInteger(webhookAttempts) && webhookAttempts >= 1)) throw new Error('FiefDevServer: webhookAttempts must be an integer ≥ 1');
    if (!(Number.isInteger(webhookRetryDelay) && webhookRetryDelay >= 0)) throw new Error('FiefDevServer: webhookRetryDelay must be a number of milliseconds ≥ 0');
    const serverWebhooks = [...(options.webhooks ?? [])];
    const shared: DevServerLink = {
      options,
      webhooks: new DevWebhooks({ timeout: webhookTimeout, attempts: webhookAttempts, retryDelay: webhookRetryDelay }),
      serverWebhooks,
    };
    super(new DevTenantCore(undefined, options, shared));
    this.shared = shared;
    for (const [slug, tenantOptions] of Object.entries(options.tenants ?? {})) this.addTenantCore(slug, tenantOptions);
  }

  /** Listens and returns the base URL, e.g. `http://127.0.0.1:43123`. Concurrent calls share one start. */
  start(): Promise<string> {
    this.starting ??= this.listen().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async listen(): Promise<string> {
    // Loaded here rather than imported at the top: oidc-provider is an optional peer dependency,
    // needed by those who start a dev server, not by whoever merely imports `nestjs-fief/testing`.
    this.shared.ProviderClass ??= await import('oidc-provider').then(
      (module) => module.default,
      (cause: unknown) => {
        throw new Error('FiefDevServer needs the optional peer dependency oidc-provider 9: npm install --save-dev oidc-provider', {
          cause,
        });
      },
    );
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.shared.options.port ?? 0, this.shared.options.host ?? '127.0.0.1', resolve);
    });
    const { address, port } = server.address() as AddressInfo;
    this.server = server;
    this.shared.base = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    // Keys are generated together: ten 4096-bit keys one after the other would take seconds.
    await Promise.all([this.core, ...this.tenants.values()].map((tenant) => tenant.activate()));
    return this.shared.base;
  }

  /** Closes the server and every open connection. Safe to call twice. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const server = this.server;
    this.starting = undefined;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The tenant served under `/{slug}` (the default tenant, this server, when `slug` is undefined).
   * Throws for a slug that is not configured.
   *
   * @example
   * const acme = fief.tenant('acme');
   * const token = await acme.issueAccessToken({ user: 'anne@bretagne.duchy' }); // iss: `${base}/acme`
   */
  tenant(slug?: string): FiefDevTenant {
    if (slug === undefined) return this;
    const handle = this.handles.get(slug);
    if (!handle) throw new Error(`FiefDevServer has no tenant ${JSON.stringify(slug)} (tenants: ${[...this.tenants.keys()].join(', ') || 'none'})`);
    return handle;
  }

  /** Slugs of the tenants served beside the default one. */
  get tenantSlugs(): string[] {
    return [...this.tenants.keys()];
  }

  /** Adds a tenant, also while running (its key is created before this resolves). */
  async addTenant(slug: string, options: FiefDevTenantOptions = {}): Promise<FiefDevTenant> {
    const core = this.addTenantCore(slug, options);
    if (this.server) await core.activate();
    return this.tenant(slug);
  }

  /** Every webhook delivery so far, of every tenant, oldest first. */
  override get webhookDeliveries(): FiefDevWebhookDelivery[] {
    return this.deliveries();
  }

  /** Resolves once every webhook delivery queued so far (retries included) is settled; gives every delivery. */
  override async flushWebhooks(): Promise<FiefDevWebhookDelivery[]> {
    return this.shared.webhooks.flush();
  }

  /** Adds a receiver of every tenant's webhooks (as Fief's webhooks belong to the workspace). */
  override addWebhook(webhook: FiefDevWebhook): void {
    super.addWebhook(webhook);
  }

  protected override webhookList(): FiefDevWebhook[] {
    return this.shared.serverWebhooks;
  }

  private addTenantCore(slug: string, options: FiefDevTenantOptions): DevTenantCore {
    checkSlug(slug);
    if (this.tenants.has(slug)) throw new Error(`FiefDevServer: tenant ${slug} is configured twice`);
    const core = new DevTenantCore(slug, options ?? {}, this.shared);
    this.tenants.set(slug, core);
    this.handles.set(slug, new FiefDevTenant(core));
    return core;
  }

  /** Routes by the first path segment: a tenant's slug, or else the default tenant at the root. */
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.shared.options.silent === false) {
      res.on('finish', () => console.info(`[fief-dev-server] ${req.method} ${req.url} ${res.statusCode}`));
    }
    try {
      const url = new URL(req.url ?? '/', this.shared.base);
      const slug = /^\/([a-z0-9][a-z0-9-]*)(?=\/|$)/.exec(url.pathname)?.[1];
      const tenant = (slug !== undefined && this.tenants.get(slug)) || this.core;
      if (tenant !== this.core) url.pathname = url.pathname.slice(slug!.length + 1) || '/';
      await tenant.handle(req, res, url);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(error) });
    }
  }
}

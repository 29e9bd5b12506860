import { createHash, randomBytes, randomUUID, type webcrypto } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { default as Provider, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import {
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import { createMemoryAdapter } from './dev-server-store.js';
import { renderLoginPage } from './dev-server-pages.js';

/** A user of the dev server's tenant. */
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
  /** @default the server's tenant id */
  tenantId?: string;
}

/** A client (application) registered in the dev server's tenant. */
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

/** Options of {@link FiefDevServer}. */
export interface FiefDevServerOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Issuer of the tokens. @default the base URL the server listens on */
  issuer?: string;
  /** @default DEFAULT_DEV_USERS */
  users?: readonly FiefDevUser[];
  /** @default [DEFAULT_DEV_CLIENT] */
  clients?: readonly FiefDevClient[];
  /** Size of the RSA signing key (Fief uses 4096). @default 2048 */
  keySize?: 2048 | 4096;
  /** Lifetime of refresh tokens, in seconds. @default 30 days */
  refreshTokenTtl?: number;
  /** When false, logs each request and every server error of oidc-provider to the console. @default true */
  silent?: boolean;
}

/** The endpoints whose requests are counted and which can be made to fail. */
export type FiefDevEndpoint = 'discovery' | 'jwks' | 'authorize' | 'token' | 'userinfo' | 'profile';

/** How an endpoint fails under {@link FiefDevServer.setFault}. */
export type FiefDevFault = 'down' | 'hang' | 'html' | '500' | `slow:${number}`;

/** What the browser would be sent back to the client with, after a login. */
export interface FiefDevLoginResult {
  url: string;
  code?: string;
  state?: string;
  error?: string;
  error_description?: string;
}

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

const DAY = 86_400;
const PKCE_VERIFIER = /^[\w.~-]{43,128}$/;
const LOCAL_REDIRECT = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//;
const USER_ENDPOINTS = new Set(['/api/userinfo', '/api/profile', '/api/password', '/api/email/change', '/api/email/verify']);

interface SigningKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

async function createSigningKey(modulusLength: number): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength, extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk, privateJwk };
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * A Fief-compatible server for the sample app and for tests, built on `oidc-provider`: Fief's paths,
 * token shapes and user API, in-memory users and clients, and helpers to mint tokens, log in
 * headlessly, rotate keys and inject faults.
 *
 * @example
 * const fief = new FiefDevServer();
 * const baseURL = await fief.start();
 * const token = await fief.issueAccessToken({ user: 'anne@bretagne.duchy' });
 * // … FiefModule.forRoot({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' })
 * await fief.stop();
 */
export class FiefDevServer {
  /** Requests served, by endpoint. */
  readonly requestCounts: Record<FiefDevEndpoint, number> = {
    discovery: 0,
    jwks: 0,
    authorize: 0,
    token: 0,
    userinfo: 0,
    profile: 0,
  };
  /** ID of the tenant every user belongs to unless said otherwise. */
  readonly tenantId = randomUUID();

  private readonly options: FiefDevServerOptions;
  private readonly userList: FiefDevUser[];
  private readonly clientList: FiefDevClient[];
  private readonly keys: SigningKey[] = [];
  private readonly faults = new Map<FiefDevEndpoint, FiefDevFault>();
  private readonly verificationCodes = new Map<string, { code: string; email: string }>();
  private readonly sockets = new Set<Socket>();
  /** Local redirect URIs seen at /authorize, by client, for the clients that list none of their own. */
  private readonly localRedirects = new Map<string, Set<string>>();
  private readonly adapter = createMemoryAdapter((clientId) => {
    const client = this.clientList.find((c) => c.clientId === clientId);
    return client && this.clientMetadata(client);
  });
  private readonly cookieKeys = [randomBytes(32).toString('hex')];
  private server?: Server;
  private ProviderClass?: typeof Provider;
  private provider?: Provider;
  private starting?: Promise<string>;
  private providerCallback?: ReturnType<Provider['callback']>;
  private base?: string;
  private issuerValue?: string;

  constructor(options: FiefDevServerOptions = {}) {
    this.options = options;
    this.userList = [];
    for (const user of options.users ?? DEFAULT_DEV_USERS) this.addUser(user);
    this.clientList = (options.clients ?? [DEFAULT_DEV_CLIENT]).map((client) => ({ ...client }));
    if (this.clientList.length === 0) throw new Error('FiefDevServer needs at least one client');
    this.clientList.forEach((client, index) => checkClient(client, this.clientList.slice(0, index)));
    const { keySize, refreshTokenTtl } = options;
    if (keySize !== undefined && keySize !== 2048 && keySize !== 4096) {
      throw new Error(`FiefDevServer: keySize must be 2048 or 4096, not ${keySize}`);
    }
    if (refreshTokenTtl !== undefined && !(Number.isInteger(refreshTokenTtl) && refreshTokenTtl > 0)) {
      throw new Error(`FiefDevServer: refreshTokenTtl must be a positive number of seconds, not ${refreshTokenTtl}`);
    }
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
    this.ProviderClass ??= await import('oidc-provider').then(
      (module) => module.default,
      (cause: unknown) => {
        throw new Error('FiefDevServer needs the optional peer dependency oidc-provider 9: npm install --save-dev oidc-provider', {
          cause,
        });
      },
    );
    if (this.keys.length === 0) this.keys.push(await createSigningKey(this.options.keySize ?? 2048));
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve);
    });
    const { address, port } = server.address() as AddressInfo;
    this.server = server;
    this.base = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    this.issuerValue = this.options.issuer ?? this.base;
    this.setProvider();
    return this.base;
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

  /** Base URL of the running server. */
  get baseURL(): string {
    if (!this.base) throw new Error('FiefDevServer is not started: call start() first');
    return this.base;
  }

  /** Issuer of the tokens (the base URL unless configured). */
  get issuer(): string {
    if (!this.issuerValue) throw new Error('FiefDevServer is not started: call start() first');
    return this.issuerValue;
  }

  /** The tenant's users, with their ids: the live list, which {@link addUser} extends. */
  get users(): FiefDevUser[] {
    return this.userList;
  }

  /** The tenant's clients. */
  get clients(): FiefDevClient[] {
    return this.clientList;
  }

  /** The key that signs from now on (private), to forge tokens with exact claims in tests. */
  get signingKey(): { kid: string; privateKey: webcrypto.CryptoKey; publicJwk: JWK } {
    const { kid, privateKey, publicJwk } = this.keys[0];
    return { kid, privateKey, publicJwk };
  }

  /** Adds a user to the tenant and returns it with its id. */
  addUser(user: FiefDevUser): FiefDevUser {
    if (typeof user?.email !== 'string' || !user.email.includes('@')) {
      throw new Error(`FiefDevServer: a user needs an email address, got ${JSON.stringify(user?.email)}`);
    }
    for (const key of ['email', 'id'] as const) {
      if (user[key] !== undefined && this.findUser(user[key])) {
        throw new Error(`FiefDevServer: there is already a user with ${key} ${user[key]}`);
      }
    }
    const complete = this.completeUser(user);
    this.userList.push(complete);
    return complete;
  }

  /** A user by email or id. */
  findUser(emailOrId: string): FiefDevUser | undefined {
    return this.userList.find((user) => user.id === emailOrId || user.email === emailOrId);
  }

  /** Zeroes {@link requestCounts}. */
  resetRequestCounts(): void {
    for (const key of Object.keys(this.requestCounts) as FiefDevEndpoint[]) this.requestCounts[key] = 0;
  }

  /**
   * Makes an endpoint fail until called again with `null`: `down` resets the connection, `hang`
   * never answers, `html` answers a 200 HTML page, `500` an HTTP 500, `slow:<ms>` answers late.
   */
  setFault(endpoint: FiefDevEndpoint | 'all', fault: FiefDevFault | null): void {
    if (endpoint !== 'all' && !(endpoint in this.requestCounts)) throw new Error(`FiefDevServer.setFault: unknown endpoint ${endpoint}`);
    if (fault !== null && !/^(down|hang|html|500|slow:\d+(\.\d+)?)$/.test(fault)) {
      throw new Error(`FiefDevServer.setFault: unknown fault ${fault} (down, hang, html, 500 or slow:<ms>)`);
    }
    const endpoints = endpoint === 'all' ? (Object.keys(this.requestCounts) as FiefDevEndpoint[]) : [endpoint];
    for (const name of endpoints) {
      if (fault) this.faults.set(name, fault);
      else this.faults.delete(name);
    }
  }

  /**
   * A new signing key signs from now on. The previous public key stays in the JWKS unless
   * `keepOld` is false, the way a tenant rotates keys.
   */
  async rotateSigningKey(options: { keepOld?: boolean } = {}): Promise<void> {
    const key = await createSigningKey(this.options.keySize ?? 2048);
    if (options.keepOld === false) this.keys.length = 0;
    this.keys.unshift(key);
    if (this.server) this.setProvider();
  }

  /**
   * Signs a Fief-shaped access token directly (no HTTP). `claims` overrides or adds claims (an
   * `undefined` value removes one); `header` overrides header fields.
   */
  async issueAccessToken(
    options: {
      user?: string;
      clientId?: string;
      scope?: string[];
      permissions?: string[];
      acr?: '0' | '1';
      expiresIn?: number;
      claims?: Record<string, unknown>;
      header?: Record<string, unknown>;
    } = {},
  ): Promise<string> {
    const user = this.userFor(options.user);
    const client = this.clientFor(options.clientId);
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
    return this.sign(claims, options.claims, options.header);
  }

  /** Signs a Fief-shaped ID token directly (not encrypted). */
  async issueIdToken(
    options: { user?: string; clientId?: string; nonce?: string; expiresIn?: number; claims?: Record<string, unknown> } = {},
  ): Promise<string> {
    const user = this.userFor(options.user);
    const client = this.clientFor(options.clientId);
    const iat = now();
    const claims: JWTPayload = {
      ...this.userClaims(user),
      iss: this.issuer,
      aud: [client.clientId],
      azp: client.clientId,
      exp: iat + (options.expiresIn ?? client.accessTokenTtl ?? DAY),
      iat,
      auth_time: iat,
      acr: '1',
      ...(options.nonce ? { nonce: options.nonce } : {}),
    };
    return this.sign(claims, options.claims);
  }

  /**
   * Completes a login without a browser: follows `authorizeUrl` through the dev server's own
   * interaction, as the user given by `login_hint` (or `email`), over real HTTP, and returns where
   * the browser would be sent back to the client, with the code or the error.
   */
  async login(authorizeUrl: string, options: { email?: string } = {}): Promise<FiefDevLoginResult> {
    const cookies = new Map<string, string>();
    let url = new URL(authorizeUrl);
    if (options.email) url.searchParams.set('login_hint', options.email);
    for (let hop = 0; hop < 10; hop++) {
      const response = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const index = pair.indexOf('=');
        cookies.set(pair.slice(0, index), pair.slice(index + 1));
      }
      const location = response.headers.get('location');
      if (!location) {
        throw new Error(`Dev server login stopped at ${url.pathname} with ${response.status}: ${await response.text()}`);
      }
      const next = new URL(location, url);
      if (next.origin !== this.baseURL) {
        const params = next.searchParams;
        const pick = (name: string) => params.get(name) ?? undefined;
        return {
          url: next.href,
          code: pick('code'),
          state: pick('state'),
          error: pick('error'),
          error_description: pick('error_description'),
        };
      }
      url = next;
    }
    throw new Error('Dev server login did not come back to the client within 10 redirects');
  }

  /** The verification code "sent" by the last email change of a user. */
  getEmailVerificationCode(emailOrId: string): string | undefined {
    const user = this.findUser(emailOrId);
    return user && this.verificationCodes.get(user.id!)?.code;
  }

  private completeUser(user: FiefDevUser): FiefDevUser {
    return {
      emailVerified: true,
      isActive: true,
      tenantId: this.tenantId,
      fields: {},
      permissions: [],
      ...structuredClone(user),
      id: user.id ?? randomUUID(),
    };
  }

  private userFor(emailOrId?: string): FiefDevUser {
    const user = emailOrId ? this.findUser(emailOrId) : this.userList[0];
    if (!user) throw new Error(`FiefDevServer has no user ${emailOrId ?? ''}`.trim());
    return user;
  }

  private clientFor(clientId?: string): FiefDevClient {
    const client = clientId ? this.clientList.find((c) => c.clientId === clientId) : this.clientList[0];
    if (!client) throw new Error(`FiefDevServer has no client ${clientId}`);
    return client;
  }

  private userClaims(user: FiefDevUser): Record<string, unknown> {
    return {
      sub: user.id,
      email: user.email,
      email_verified: user.emailVerified,
      is_active: user.isActive,
      tenant_id: user.tenantId,
      fields: user.fields,
    };
  }

  private async sign(claims: JWTPayload, overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
    const payload: Record<string, unknown> = { ...claims, ...overrides };
    for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete payload[name];
    const { kid, privateKey } = this.keys[0];
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, ...header }).sign(privateKey);
  }

  /** Verifies against the keys in hand: no JWK import on every user API call under load. */
  private publicKeyOf(kid: string | undefined): webcrypto.CryptoKey {
    const key = this.keys.find((candidate) => candidate.kid === kid);
    if (!key) throw new Error(`No signing key ${kid}`);
    return key.publicKey;
  }

  private jwks() {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  private discovery() {
    const base = this.baseURL;
    return {
      issuer: this.issuer,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/api/token`,
      userinfo_endpoint: `${base}/api/userinfo`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      registration_endpoint: `${base}/register`,
      scopes_supported: ['openid', 'offline_access'],
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      id_token_encryption_alg_values_supported: ['RSA-OAEP-256'],
      id_token_encryption_enc_values_supported: ['A256CBC-HS512'],
      userinfo_signing_alg_values_supported: ['none'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      claims_supported: ['email', 'tenant_id'],
      acr_values_supported: ['0', '1'],
      code_challenge_methods_supported: ['plain', 'S256'],
      request_parameter_supported: false,
    };
  }

  private clientMetadata(client: FiefDevClient): Record<string, unknown> {
    return {
      client_id: client.clientId,
      client_secret: client.clientSecret,
      token_endpoint_auth_method: client.clientSecret ? 'client_secret_basic' : 'none',
      redirect_uris: client.redirectUris ?? this.localRedirectsOf(client.clientId),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...(client.encryptionKey
        ? {
            id_token_encrypted_response_alg: 'RSA-OAEP-256',
            id_token_encrypted_response_enc: 'A256CBC-HS512',
            jwks: { keys: [{ ...client.encryptionKey, use: 'enc', alg: 'RSA-OAEP-256' }] },
          }
        : {}),
    };
  }

  /** The provider signs with the keys it was built with, so a key rotation builds a new one on the same storage. */
  private setProvider() {
    this.provider = this.createProvider();
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
    const client = this.clientList.find((c) => c.clientId === clientId);
    const redirectUri = url.searchParams.get('redirect_uri') ?? '';
    if (!client || client.redirectUris || !LOCAL_REDIRECT.test(redirectUri)) return;
    if (!URL.canParse(redirectUri) || new URL(redirectUri).hash) return;
    const seen = this.localRedirects.get(clientId) ?? new Set<string>();
    this.localRedirects.set(clientId, seen.add(redirectUri));
  }

  private createProvider(): Provider {
    const users = this;
    const configuration: Configuration = {
      adapter: this.adapter as unknown as Configuration['adapter'],
      jwks: { keys: this.keys.map((key) => key.privateJwk) as Configuration['jwks'] extends { keys: infer K } ? K : never },
      cookies: { keys: this.cookieKeys },
      acrValues: ['0', '1'],
      scopes: ['openid', 'offline_access'],
      // acr and auth_time are listed under openid so that ID tokens always carry them, as Fief's do,
      // not only when the client asks for them with the claims parameter.
      claims: { openid: ['sub', 'email', 'email_verified', 'is_active', 'tenant_id', 'fields', 'azp', 'acr', 'auth_time'] },
      conformIdTokenClaims: false,
      responseTypes: ['code'],
      pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
      rotateRefreshToken: true,
      clientBasedCORS: () => true,
      routes: { authorization: '/authorize', token: '/api/token', jwks: '/.well-known/oidc-jwks', userinfo: '/oidc/userinfo' },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      features: {
        devInteractions: { enabled: false },
        encryption: { enabled: true },
        rpInitiatedLogout: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: (_ctx, client) => `urn:fief:client:${client?.clientId}`,
          useGrantedResource: () => true,
          getResourceServerInfo: (ctx, _resource, client) => ({
            scope: 'openid offline_access',
            audience: client.clientId,
            accessTokenFormat: 'jwt',
            accessTokenTTL: this.clientFor(client.clientId).accessTokenTtl ?? DAY,
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      async findAccount(ctx, sub) {
        const user = users.findUser(sub);
        if (!user) return undefined;
        return {
          accountId: user.id!,
          claims: async () => ({ sub: user.id!, ...users.userClaims(user), azp: ctx.oidc.client?.clientId }),
        };
      },
      extraTokenClaims: async (ctx, token) => {
        const user = 'accountId' in token && token.accountId ? this.findUser(token.accountId as string) : undefined;
        // Fief answers a refresh with acr "0", and a code with the acr of the login behind it
        // (see markSessionReused): only an interactive login proves level 1.
        const oidc = (ctx as KoaContextWithOIDC).oidc;
        const code = oidc?.entities.AuthorizationCode;
        const authTime = (code ?? oidc?.entities.RefreshToken)?.authTime;
        return {
          permissions: user?.permissions ?? [],
          acr: code?.acr ?? '0',
          azp: token.clientId,
          ...(authTime ? { auth_time: authTime } : {}),
        };
      },
      formats: {
        customizers: {
          // Fief's access tokens: aud is an array, no typ header, no jti or client_id claims.
          jwt: async (_ctx, _token, jwt) => {
            jwt.header = { ...jwt.header, typ: undefined };
            jwt.payload.aud = [jwt.payload.client_id as string];
            delete jwt.payload.jti;
            delete jwt.payload.client_id;
          },
        },
      },
      ttl: {
        AccessToken: (_ctx, token) => this.clientFor(token.clientId).accessTokenTtl ?? DAY,
        AuthorizationCode: 600,
        IdToken: (ctx) => this.clientFor(ctx.oidc.client?.clientId).accessTokenTtl ?? DAY,
        RefreshToken: this.options.refreshTokenTtl ?? 30 * DAY,
        Grant: 30 * DAY,
        Interaction: 3600,
        Session: DAY,
        BackchannelAuthenticationRequest: 600,
        ClientCredentials: 600,
        DeviceCode: 600,
        PreAuthorizedCode: 600,
      },
      renderError: async (ctx, out) => {
        ctx.type = 'json';
        ctx.body = out;
      },
    };
    const provider = new this.ProviderClass!(this.issuer, configuration);
    if (this.options.silent === false) {
      provider.on('server_error', (_ctx, error) => console.error('[fief-dev-server] server error', error));
    }
    return provider;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.options.silent === false) {
      res.on('finish', () => console.info(`[fief-dev-server] ${req.method} ${req.url} ${res.statusCode}`));
    }
    try {
      const url = new URL(req.url ?? '/', this.baseURL);
      const endpoint = this.endpointOf(url.pathname);
      if (endpoint) {
        this.requestCounts[endpoint]++;
        if (await this.applyFault(endpoint, req, res)) return;
      }
      if (url.pathname === '/.well-known/openid-configuration') return this.json(res, 200, this.discovery());
      if (url.pathname === '/.well-known/jwks.json') return this.json(res, 200, this.jwks());
      if (url.pathname === '/logout') return await this.logout(req, res, url);
      if (USER_ENDPOINTS.has(url.pathname)) return await this.userApi(url.pathname, req, res);
      const interaction = /^\/interaction\/([\w-]+)(\/login)?$/.exec(url.pathname);
      if (interaction) {
        return await this.interact(req, res, url, Boolean(interaction[2])).catch((error: unknown) => {
          if ((error as { name?: unknown }).name !== 'SessionNotFound') throw error;
          this.json(res, 400, { error: 'invalid_request', error_description: 'This login expired or is unknown: start it again' });
        });
      }
      if (url.pathname === '/authorize') {
        this.learnLocalRedirect(url);
        this.acceptPlainPkce(url);
        this.askConsentForOfflineAccess(url);
        req.url = `${url.pathname}${url.search}`;
        await this.markSessionReused(req, res);
      }
      if (url.pathname === '/api/token') this.shapeTokenResponse(res);
      await this.providerCallback!(req, res);
    } catch (error) {
      if (!res.headersSent) this.json(res, 500, { error: 'server_error', error_description: String(error) });
    }
  }

  private endpointOf(pathname: string): FiefDevEndpoint | undefined {
    switch (pathname) {
      case '/.well-known/openid-configuration':
        return 'discovery';
      case '/.well-known/jwks.json':
        return 'jwks';
      case '/authorize':
        return 'authorize';
      case '/api/token':
        return 'token';
      case '/api/userinfo':
        return 'userinfo';
      default:
        return USER_ENDPOINTS.has(pathname) ? 'profile' : undefined;
    }
  }

  /** Answers the fault set for the endpoint, if any; true when the request is dealt with. */
  private async applyFault(endpoint: FiefDevEndpoint, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const fault = this.faults.get(endpoint);
    if (!fault) return false;
    if (fault === 'down') {
      req.socket.destroy();
      return true;
    }
    if (fault === 'hang') return true; // the socket stays open until the client gives up or stop()
    if (fault === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>');
      return true;
    }
    if (fault === '500') {
      this.json(res, 500, { detail: 'Internal Server Error' });
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, Number(fault.slice('slow:'.length))));
    return false;
  }

  /**
   * oidc-provider drops `offline_access` unless the request prompts for consent, whereas Fief
   * grants it; asking for consent here (our interaction always gives it) gives Fief's behaviour.
   */
  private askConsentForOfflineAccess(url: URL) {
    const scope = url.searchParams.get('scope')?.split(' ') ?? [];
    if (scope.includes('offline_access') && !url.searchParams.get('prompt')) url.searchParams.set('prompt', 'consent');
  }

  /**
   * Gives oidc-provider's token responses Fief's exact shape. Errors: Fief answers every one with
   * 400, where oidc-provider answers a failed client authentication with 401. Success: `token_type`
   * "bearer", no `scope`, and a refresh token only while `offline_access` is in scope. oidc-provider
   * always rotates in a new refresh token, even when a refresh narrowed `offline_access` away; Fief
   * issues none then, so that one is revoked before the answer leaves.
   */
  private shapeTokenResponse(res: ServerResponse) {
    const end = res.end.bind(res) as (body?: string | Buffer) => ServerResponse;
    res.end = ((body?: string | Buffer) => {
      if (res.statusCode === 401 && !res.headersSent) {
        res.statusCode = 400;
        res.removeHeader('www-authenticate');
      }
      let tokens: Record<string, unknown>;
      try {
        if (res.statusCode !== 200 || body === undefined || typeof body === 'function') return end(body);
        tokens = JSON.parse(body.toString()) as Record<string, unknown>;
      } catch {
        return end(body);
      }
      const offline = String(tokens.scope ?? '').split(' ').includes('offline_access');
      const unwanted = offline ? undefined : (tokens.refresh_token as string | undefined);
      tokens.token_type = 'bearer';
      delete tokens.scope;
      if (unwanted) delete tokens.refresh_token;
      const shaped = JSON.stringify(tokens);
      res.setHeader('content-length', Buffer.byteLength(shaped));
      if (!unwanted) return end(shaped);
      void this.provider!.RefreshToken.find(unwanted)
        .then((token) => token?.destroy())
        .catch(() => undefined)
        .finally(() => end(shaped));
      return res;
    }) as typeof res.end;
  }

  /**
   * Fief accepts PKCE `plain` (and takes it when no method is given, as RFC 7636 says); oidc-provider
   * knows only S256. A plain challenge is the verifier itself, so its S256 hash is the S256 challenge
   * of the same verifier: the token endpoint then checks the verifier exactly as Fief would.
   */
  private acceptPlainPkce(url: URL) {
    const challenge = url.searchParams.get('code_challenge');
    const method = url.searchParams.get('code_challenge_method') ?? 'plain';
    // A malformed one is left for oidc-provider to refuse at once, rather than at the token endpoint.
    if (!challenge || method !== 'plain' || !PKCE_VERIFIER.test(challenge)) return;
    url.searchParams.set('code_challenge', createHash('sha256').update(challenge).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
  }

  private async interact(req: IncomingMessage, res: ServerResponse, url: URL, submitted: boolean) {
    const provider = this.provider!;
    const details = await provider.interactionDetails(req, res);
    const params = details.params as Record<string, string | undefined>;
    const email = (submitted ? new URLSearchParams(await readBody(req)).get('email') : params.login_hint) ?? undefined;
    const user = email ? this.findUser(email) : undefined;
    if (!user) {
      const html = renderLoginPage({ action: `${url.pathname.replace(/\/login$/, '')}/login`, users: this.userList, unknown: email });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    if (!user.isActive) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user is inactive' });
      return;
    }
    const clientId = params.client_id!;
    const scope = params.scope ?? 'openid';
    const grant = new provider.Grant({ accountId: user.id!, clientId });
    grant.addOIDCScope(scope);
    grant.addResourceScope(`urn:fief:client:${clientId}`, scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.id!, acr: '1' }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  /**
   * Fief's acr "0" means "no authentication was performed, a previous session was used". The
   * interaction of a fresh login puts acr "1" in the browser's session; a later /authorize that
   * finds that session is a reuse of it, so the session is downgraded to "0" before oidc-provider
   * sees the request (a login prompt, e.g. `prompt=login`, sets "1" again).
   */
  private async markSessionReused(req: IncomingMessage, res: ServerResponse) {
    const provider = this.provider!;
    const session = await provider.Session.get(provider.createContext(req, res));
    if (!session.accountId || session.acr === '0') return;
    session.acr = '0';
    await session.persist();
  }

  /**
   * Ends the browser's session, as Fief's /logout does, so the next /authorize asks who logs in
   * again instead of silently reusing the previous user.
   */
  private async logout(req: IncomingMessage, res: ServerResponse, url: URL) {
    const redirectUri = url.searchParams.get('redirect_uri');
    if (!redirectUri || !URL.canParse(redirectUri)) return this.json(res, 400, { detail: 'redirect_uri is required' });
    const provider = this.provider!;
    const session = await provider.Session.get(provider.createContext(req, res));
    await session.destroy();
    res.writeHead(302, { location: redirectUri }).end();
  }

  /** Fief's user API: the bearer must be a valid access token of this tenant. */
  private async userApi(pathname: string, req: IncomingMessage, res: ServerResponse) {
    const user = await this.authenticate(req);
    if (!user) {
      res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
      return this.json(res, 401, { detail: 'Unauthorized' });
    }
    const { payload, found } = user;
    if (pathname === '/api/userinfo') return this.json(res, 200, this.userClaims(found));
    const method = req.method ?? 'GET';
    const body = (await readBody(req)) || '{}';
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(body);
    } catch {
      return this.json(res, 422, { detail: 'Body is not JSON' });
    }
    const needsFreshLogin = pathname !== '/api/profile';
    if (needsFreshLogin && payload.acr !== '1') return this.json(res, 403, { detail: 'ACR too low' });
    if (pathname === '/api/profile' && method === 'PATCH') {
      if (typeof data.email === 'string') found.email = data.email;
      if (data.fields && typeof data.fields === 'object') found.fields = { ...found.fields, ...(data.fields as object) };
      return this.json(res, 200, this.userClaims(found));
    }
    if (pathname === '/api/password' && method === 'PATCH') {
      if (typeof data.password !== 'string' || data.password.length < 8) {
        return this.json(res, 400, { detail: 'PASSWORD_INVALID' });
      }
      return this.json(res, 200, this.userClaims(found));
    }
    if (pathname === '/api/email/change' && method === 'PATCH') {
      if (typeof data.email !== 'string' || !data.email.includes('@')) return this.json(res, 422, { detail: 'Invalid email' });
      const code = String(Math.floor(100000 + Math.random() * 900000));
      this.verificationCodes.set(found.id!, { code, email: data.email });
      return this.json(res, 202, this.userClaims(found));
    }
    if (pathname === '/api/email/verify' && method === 'POST') {
      const pending = this.verificationCodes.get(found.id!);
      if (!pending || pending.code !== data.code) return this.json(res, 400, { detail: 'INVALID_CODE' });
      this.verificationCodes.delete(found.id!);
      found.email = pending.email;
      found.emailVerified = true;
      return this.json(res, 200, this.userClaims(found));
    }
    return this.json(res, 405, { detail: 'Method Not Allowed' });
  }

  private async authenticate(req: IncomingMessage) {
    const match = /^Bearer ([\w.~+/-]+=*)$/i.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    try {
      const { payload } = await jwtVerify(match[1], (header) => this.publicKeyOf(header.kid), {
        algorithms: ['RS256'],
        issuer: this.issuer,
        audience: this.clientList.map((client) => client.clientId),
        requiredClaims: ['exp', 'sub', 'scope'],
      });
      const found = this.findUser(payload.sub!);
      return found?.isActive ? { payload, found } : undefined;
    } catch {
      return undefined;
    }
  }

  private json(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  }
}

/** Refuses a client registration that could only fail later, and obscurely, inside oidc-provider. */
function checkClient(client: FiefDevClient, earlier: FiefDevClient[]) {
  const where = `FiefDevServer client ${JSON.stringify(client.clientId)}`;
  if (typeof client.clientId !== 'string' || client.clientId === '') throw new Error(`${where}: clientId must be a non-empty string`);
  if (earlier.some((other) => other.clientId === client.clientId)) throw new Error(`${where}: clientId is used twice`);
  if (client.clientSecret !== undefined && (typeof client.clientSecret !== 'string' || client.clientSecret === '')) {
    throw new Error(`${where}: clientSecret must be a non-empty string, or absent for a public client`);
  }
  for (const uri of client.redirectUris ?? []) {
    if (!URL.canParse(uri) || new URL(uri).hash) throw new Error(`${where}: redirect URI ${uri} must be an absolute URL without a fragment`);
  }
  if (client.redirectUris?.length === 0) throw new Error(`${where}: redirectUris is empty; omit it to accept any local URL`);
  const key = client.encryptionKey;
  if (key && (key.kty !== 'RSA' || !key.n || !key.e)) throw new Error(`${where}: encryptionKey must be a public RSA JWK`);
  if (key && 'd' in key) throw new Error(`${where}: encryptionKey must be the PUBLIC key; the private one belongs to the app (FiefClient)`);
  const ttl = client.accessTokenTtl;
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) throw new Error(`${where}: accessTokenTtl must be a positive number of seconds`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

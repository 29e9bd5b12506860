import type { default as Provider, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { SigningKey } from './dev-server-keys.js';
import type { FiefDevClient, FiefDevUser } from './dev-server-types.js';

export const DAY = 86_400;

/** What oidc-provider needs to know of one tenant. */
export interface DevProviderContext {
  issuer: string;
  /** The tenant's path prefix on the server: '' for the default tenant, `/{slug}` for the others. */
  prefix: string;
  keys: readonly SigningKey[];
  adapter: unknown;
  cookieKeys: string[];
  refreshTokenTtl: number;
  silent: boolean;
  findUser(emailOrId: string): FiefDevUser | undefined;
  userClaims(user: FiefDevUser): Record<string, unknown>;
  clientFor(clientId?: string): FiefDevClient;
}

/** oidc-provider's metadata of a client, which it reads through the adapter. */
export function clientMetadata(client: FiefDevClient, redirectUris: string[]): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    token_endpoint_auth_method: client.clientSecret ? 'client_secret_basic' : 'none',
    redirect_uris: client.redirectUris ?? redirectUris,
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

/** Fief's discovery document for a tenant served at `base`. */
export function discoveryDocument(base: string, issuer: string): Record<string, unknown> {
  return {
    issuer,
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

/**
 * One oidc-provider per tenant and per signing key set, configured to behave like Fief: its paths,
 * claims, token shapes and lifetimes. Each tenant's provider has its own cookie names, so one browser
 * can hold sessions of several tenants of the same host, as with Fief.
 */
export function createDevProvider(ProviderClass: typeof Provider, tenant: DevProviderContext): Provider {
  const suffix = tenant.prefix.replace('/', '.');
  const configuration: Configuration = {
    adapter: tenant.adapter as Configuration['adapter'],
    jwks: { keys: tenant.keys.map((key) => key.privateJwk) as Configuration['jwks'] extends { keys: infer K } ? K : never },
    cookies: {
      keys: tenant.cookieKeys,
      names: { session: `_session${suffix}`, interaction: `_interaction${suffix}`, resume: `_interaction_resume${suffix}` },
    },
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
    interactions: { url: (_ctx, interaction) => `${tenant.prefix}/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      encryption: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, client) => `urn:fief:client:${client?.clientId}`,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, _resource, client) => ({
          scope: 'openid offline_access',
          audience: client.clientId,
          accessTokenFormat: 'jwt',
          accessTokenTTL: tenant.clientFor(client.clientId).accessTokenTtl ?? DAY,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    async findAccount(ctx, sub) {
      const user = tenant.findUser(sub);
      if (!user) return undefined;
      return {
        accountId: user.id!,
        claims: async () => ({ sub: user.id!, ...tenant.userClaims(user), azp: ctx.oidc.client?.clientId }),
      };
    },
    extraTokenClaims: async (ctx, token) => {
      const user = 'accountId' in token && token.accountId ? tenant.findUser(token.accountId as string) : undefined;
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
      AccessToken: (_ctx, token) => tenant.clientFor(token.clientId).accessTokenTtl ?? DAY,
      AuthorizationCode: 600,
      IdToken: (ctx) => tenant.clientFor(ctx.oidc.client?.clientId).accessTokenTtl ?? DAY,
      RefreshToken: tenant.refreshTokenTtl,
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
  const provider = new ProviderClass(tenant.issuer, configuration);
  if (!tenant.silent) {
    provider.on('server_error', (_ctx, error) => console.error('[fief-dev-server] server error', error));
  }
  return provider;
}

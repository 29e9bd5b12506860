import type { FiefDevClient, FiefDevTenantOptions, FiefDevWebhook } from './dev-server-types.js';

/** Path segments the dev server itself serves at the root: no tenant may take them as a slug. */
const RESERVED_SLUGS = new Set(['api', 'authorize', 'interaction', 'logout', 'oidc', 'register', 'admin', 'login']);

/** Refuses a tenant slug that could not be routed, or would shadow a route of the default tenant. */
export function checkSlug(slug: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug) || RESERVED_SLUGS.has(slug)) {
    throw new Error(
      `FiefDevServer: tenant slug ${JSON.stringify(slug)} must be lowercase letters, digits and dashes, and not one of ${[...RESERVED_SLUGS].join(', ')}`,
    );
  }
}

/** Refuses options that could only fail later, and obscurely, inside oidc-provider or at the first request. */
export function checkTenantOptions(options: FiefDevTenantOptions, where = 'FiefDevServer'): void {
  const { keySize, refreshTokenTtl } = options;
  if (keySize !== undefined && keySize !== 2048 && keySize !== 4096) {
    throw new Error(`${where}: keySize must be 2048 or 4096, not ${keySize}`);
  }
  if (refreshTokenTtl !== undefined && !(Number.isInteger(refreshTokenTtl) && refreshTokenTtl > 0)) {
    throw new Error(`${where}: refreshTokenTtl must be a positive number of seconds, not ${refreshTokenTtl}`);
  }
  if (options.issuer !== undefined && !URL.canParse(options.issuer)) {
    throw new Error(`${where}: issuer must be an absolute URL, not ${JSON.stringify(options.issuer)}`);
  }
  for (const webhook of options.webhooks ?? []) checkWebhook(webhook, where);
}

export function checkWebhook(webhook: FiefDevWebhook, where: string): void {
  if (typeof webhook?.url !== 'string' || !URL.canParse(webhook.url) || !/^https?:$/.test(new URL(webhook.url).protocol)) {
    throw new Error(`${where}: webhook url must be an absolute http(s) URL, not ${JSON.stringify(webhook?.url)}`);
  }
  if (typeof webhook.secret !== 'string' || webhook.secret === '') {
    throw new Error(`${where}: webhook ${webhook.url} needs a non-empty secret`);
  }
}

/** Refuses a client registration that could only fail later, and obscurely, inside oidc-provider. */
export function checkClient(client: FiefDevClient, earlier: FiefDevClient[]): void {
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

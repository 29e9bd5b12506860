import { FiefError } from './client/errors.js';
import type { FiefClientOptions } from './client/types.js';
import { bearerHeaderExtractor } from './auth/token-extractor.js';
import type { FiefUserInfoCache } from './auth/user-info-cache.js';
import type {
  FiefModuleConfig,
  FiefModuleOptions,
  FiefModuleSharedOptions,
  FiefTenantOptions,
  FiefTenantsModuleOptions,
  ResolvedFiefModuleOptions,
  ResolvedFiefSharedOptions,
} from './fief-module-options.interface.js';

const QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
// A tenant name is what `@FiefTenant()` hands to app code and what logs show: keep it plain.
const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const isPositive = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;

/** Whether the options describe several tenants (`tenants` given). */
export function isTenantsConfig(options: FiefModuleConfig): options is FiefTenantsModuleOptions {
  return typeof options === 'object' && options !== null && 'tenants' in options && options.tenants !== undefined;
}

function sharedMistakes(options: FiefModuleSharedOptions, mistakes: string[]): void {
  if (options.realm !== undefined && (typeof options.realm !== 'string' || options.realm === '' || !QUOTABLE.test(options.realm))) {
    mistakes.push('realm must be a non-empty string without quotes, backslashes or control characters.');
  }
  for (const name of ['retryAfter', 'userInfoCacheMaxEntries'] as const) {
    if (options[name] !== undefined && !isPositive(options[name])) mistakes.push(`${name} must be a positive number.`);
  }
  if (options.userInfoCacheMaxEntries !== undefined && !Number.isInteger(options.userInfoCacheMaxEntries)) {
    mistakes.push('userInfoCacheMaxEntries must be an integer.');
  }
  if (options.userInfoCacheTtl !== undefined && !(isPositive(options.userInfoCacheTtl) || options.userInfoCacheTtl === 0)) {
    mistakes.push('userInfoCacheTtl must be a number of seconds, 0 or more.');
  }
  const cache = options.userInfoCache as Partial<FiefUserInfoCache> | undefined;
  if (cache !== undefined && (typeof cache?.get !== 'function' || typeof cache.set !== 'function' || typeof cache.delete !== 'function')) {
    mistakes.push('userInfoCache must have get, set and delete methods.');
  }
  for (const [type, extractor] of Object.entries(options.tokenExtractors ?? {})) {
    if (typeof extractor?.extract !== 'function') mistakes.push(`tokenExtractors.${type} must have an extract(request, context) method.`);
  }
  if (options.exceptionFactory !== undefined && typeof options.exceptionFactory !== 'function') {
    mistakes.push('exceptionFactory must be a function (failure, context) => Error.');
  }
}

function clientMistakes(options: Partial<FiefClientOptions>, mistakes: string[], label = ''): void {
  if (typeof options.baseURL !== 'string' || !/^https?:\/\/[^/?#\s]/i.test(options.baseURL)) {
    mistakes.push(`${label}baseURL must be the http(s) URL of the Fief tenant, e.g. https://example.fief.dev (got ${JSON.stringify(options.baseURL)}).`);
  }
  if (typeof options.clientId !== 'string' || options.clientId.trim() === '') {
    mistakes.push(`${label}clientId must be the ID of the Fief client (a non-empty string).`);
  }
  if (options.clientSecret !== undefined && (typeof options.clientSecret !== 'string' || options.clientSecret === '')) {
    mistakes.push(`${label}clientSecret must be a non-empty string, or be left out for a public client.`);
  }
  if (options.requestTimeout !== undefined && !isPositive(options.requestTimeout)) mistakes.push(`${label}requestTimeout must be a positive number.`);
}

function withSharedDefaults<T extends FiefModuleSharedOptions>(options: T): T & ResolvedFiefSharedOptions {
  return {
    ...options,
    realm: options.realm ?? 'fief',
    tokenExtractors: { http: bearerHeaderExtractor, ...options.tokenExtractors },
    userInfoCacheTtl: options.userInfoCacheTtl ?? 300,
    userInfoCacheMaxEntries: options.userInfoCacheMaxEntries ?? 1000,
    retryAfter: options.retryAfter ?? 10,
  };
}

/**
 * Checks the options of one tenant and applies the defaults. Every mistake is listed, so one start-up
 * shows them all; `FiefClient` then checks its own options the same way.
 *
 * @throws FiefError listing each mistake on its own line.
 */
export function resolveFiefModuleOptions(options: FiefModuleOptions): ResolvedFiefModuleOptions {
  if (options === null || typeof options !== 'object') {
    throw new FiefError('FiefModule options are missing: give at least { baseURL, clientId, clientSecret }.');
  }
  const mistakes: string[] = [];
  clientMistakes(options, mistakes);
  sharedMistakes(options, mistakes);
  if (mistakes.length) throw new FiefError(`Invalid FiefModule options:\n - ${mistakes.join('\n - ')}`);
  return withSharedDefaults(options);
}

/** Several tenants checked: the shared options resolved, and each tenant's whole options (shared ones merged in). */
export interface ResolvedFiefTenants {
  shared: ResolvedFiefSharedOptions & Pick<FiefTenantsModuleOptions, 'resolveTenant'>;
  /** Each tenant's options as a one-tenant configuration, by name. */
  tenants: ReadonlyMap<string, ResolvedFiefModuleOptions>;
  /** Tenant names by the exact issuer their tokens carry. */
  byIssuer: ReadonlyMap<string, string>;
}

/**
 * Checks a several-tenants configuration: names, each tenant's client options, distinct issuers,
 * `resolveTenant` with `login`. No tenant's client is built here (they are built on first use).
 *
 * @throws FiefError listing each mistake on its own line.
 */
export function resolveFiefTenants(options: FiefTenantsModuleOptions): ResolvedFiefTenants {
  const mistakes: string[] = [];
  const { tenants: tenantOptions, resolveTenant, login, ...sharedInput } = options;
  sharedMistakes(sharedInput, mistakes);
  if ('baseURL' in options || 'clientId' in options) {
    mistakes.push('With tenants, baseURL and clientId go inside each tenant, not beside `tenants`.');
  }
  if (resolveTenant !== undefined && typeof resolveTenant !== 'function') {
    mistakes.push('resolveTenant must be a function (request, context) => tenant name | undefined.');
  }
  const entries = typeof tenantOptions === 'object' && tenantOptions !== null ? Object.entries(tenantOptions) : [];
  if (entries.length === 0) mistakes.push('tenants must name at least one tenant: { acme: { baseURL, clientId, clientSecret } }.');
  const hasLogin = login !== undefined || entries.some(([, tenant]) => tenant?.login !== undefined);
  if (hasLogin && typeof resolveTenant !== 'function') {
    mistakes.push('The login flow with tenants needs resolveTenant: a browser must be told which tenant it logs in to.');
  }
  const shared = withSharedDefaults(sharedInput);
  const tenants = new Map<string, ResolvedFiefModuleOptions>();
  const byIssuer = new Map<string, string>();
  for (const [name, tenant] of entries) {
    const label = `tenants.${name}.`;
    if (!TENANT_NAME.test(name)) mistakes.push(`tenant name "${name}" must be letters, digits, '_', '.' or '-' (up to 63).`);
    if (tenant === null || typeof tenant !== 'object') {
      mistakes.push(`${label.slice(0, -1)} must be an object { baseURL, clientId, clientSecret }.`);
      continue;
    }
    clientMistakes(tenant, mistakes, label);
    const issuer = tenantIssuer(tenant);
    if (issuer !== undefined) {
      const other = byIssuer.get(issuer);
      if (other !== undefined) mistakes.push(`tenants ${other} and ${name} have the same issuer ${issuer}: their tokens could not be told apart.`);
      byIssuer.set(issuer, name);
    }
    const merged: FiefModuleOptions = { ...shared, ...(tenant as FiefTenantOptions), login: undefined };
    // With the login flow on, every tenant has one: the shared options with its own merged over them.
    const tenantLogin = hasLogin ? { ...login, ...tenant.login } : undefined;
    tenants.set(name, { ...withSharedDefaults(merged), login: tenantLogin as FiefModuleOptions['login'] });
  }
  if (mistakes.length) throw new FiefError(`Invalid FiefModule options:\n - ${mistakes.join('\n - ')}`);
  return { shared: { ...shared, resolveTenant }, tenants, byIssuer };
}

/** The issuer a tenant's tokens carry: `issuer`, else its `baseURL` without a trailing slash. */
export function tenantIssuer(tenant: Partial<FiefTenantOptions>): string | undefined {
  if (typeof tenant.issuer === 'string' && tenant.issuer !== '') return tenant.issuer;
  return typeof tenant.baseURL === 'string' ? tenant.baseURL.replace(/\/+$/, '') : undefined;
}

import type { JWK } from 'jose';
import { FIEF_TELEMETRY_TENANT } from '../telemetry/index.js';
import { FiefError } from './errors.js';
import type { FiefHttpSettings } from './fief-http.js';
import type { FiefClientOptions } from './types.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const DEFAULT_CLOCK_TOLERANCE_S = 30;
const DEFAULT_METADATA_TTL_S = 3600;
const DEFAULT_JWKS_COOLDOWN_S = 10;
/**
 * Ten years. Fief's client settings put no upper limit on token lifetimes, so the bound must accept
 * any an operator could choose on purpose, while still refusing the "never expires" of a forged or
 * broken `exp` (1e15, 1e20).
 */
const DEFAULT_MAX_TOKEN_LIFETIME_S = 10 * 365 * 24 * 3600;
const DEFAULT_TOKEN_CACHE = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024, maxAge: 300 };

/** {@link FiefClientOptions} checked, normalised and with every default filled in. */
export interface ResolvedClientOptions {
  baseURL: string;
  clientId: string;
  clientSecret?: string;
  encryptionJwk?: JWK;
  issuer?: string;
  /** `clientId` first, then `allowedAudiences`. */
  audiences: string[];
  http: FiefHttpSettings;
  /** Seconds. */
  clockTolerance: number;
  /** Seconds. */
  maxTokenLifetime: number;
  /** Milliseconds. */
  metadataTtl: number;
  /** Milliseconds. */
  jwksCooldown: number;
  /** Bounds of the verified-token cache (`maxAge` in milliseconds), or `undefined` when it is off. */
  tokenCache?: { maxEntries: number; maxBytes: number; maxAge: number };
}

/**
 * Checks the options synchronously, so a misconfiguration fails at start-up rather than at the first
 * request. Does no I/O.
 *
 * @throws FiefError with a message naming the bad option.
 */
export function resolveClientOptions(options: FiefClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw new FiefError('FiefClient options are required');
  const baseURL = parseBaseURL(options.baseURL);
  if (options.allowInsecureHttp !== undefined && typeof options.allowInsecureHttp !== 'boolean') {
    throw new FiefError('allowInsecureHttp must be true or false');
  }
  checkTransport(baseURL, options.allowInsecureHttp === true);
  const clientId = nonEmptyString(options.clientId, 'clientId');
  const clientSecret = options.clientSecret === undefined ? undefined : nonEmptyString(options.clientSecret, 'clientSecret');
  const encryptionJwk = options.encryptionKey === undefined ? undefined : parseEncryptionKey(options.encryptionKey);
  const issuer = options.issuer === undefined ? undefined : nonEmptyString(options.issuer, 'issuer');
  const allowedAudiences = options.allowedAudiences ?? [];
  if (!Array.isArray(allowedAudiences)) throw new FiefError('allowedAudiences must be an array of strings');
  const audiences = [clientId, ...allowedAudiences.map((audience) => nonEmptyString(audience, 'allowedAudiences[]'))];
  const fetch = options.fetch;
  if (fetch !== undefined && typeof fetch !== 'function') throw new FiefError('fetch must be a function');
  const http: FiefHttpSettings = {
    // Looked up per call when not given, so a fetch installed after construction is used.
    fetch: fetch ?? ((input, init) => globalThis.fetch(input, init)),
    timeout: positiveNumber(options.requestTimeout, DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeout'),
  };
  const tenant = (options as { [FIEF_TELEMETRY_TENANT]?: unknown })[FIEF_TELEMETRY_TENANT];
  if (typeof tenant === 'string') http.tenant = tenant;
  const clockTolerance = nonNegativeNumber(options.clockTolerance, DEFAULT_CLOCK_TOLERANCE_S, 'clockTolerance');
  const maxTokenLifetime = positiveNumber(options.maxTokenLifetime, DEFAULT_MAX_TOKEN_LIFETIME_S, 'maxTokenLifetime');
  const metadataTtl = positiveNumber(options.metadataTtl, DEFAULT_METADATA_TTL_S, 'metadataTtl') * 1000;
  const jwksCooldown = nonNegativeNumber(options.jwksCooldown, DEFAULT_JWKS_COOLDOWN_S, 'jwksCooldown') * 1000;
  const cache = options.tokenCache === false ? undefined : { ...DEFAULT_TOKEN_CACHE, ...options.tokenCache };
  const tokenCache = cache && {
    maxAge: positiveNumber(cache.maxAge, DEFAULT_TOKEN_CACHE.maxAge, 'tokenCache.maxAge') * 1000,
    maxEntries: positiveNumber(cache.maxEntries, DEFAULT_TOKEN_CACHE.maxEntries, 'tokenCache.maxEntries'),
    maxBytes: positiveNumber(cache.maxBytes, DEFAULT_TOKEN_CACHE.maxBytes, 'tokenCache.maxBytes'),
  };
  return { baseURL, clientId, clientSecret, encryptionJwk, issuer, audiences, http, clockTolerance, maxTokenLifetime, metadataTtl, jwksCooldown, tokenCache };
}

function parseBaseURL(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new FiefError('baseURL is required, e.g. "https://example.fief.dev"');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FiefError(`baseURL "${value}" is not an absolute URL: include the scheme, e.g. "https://${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new FiefError(`baseURL "${value}" must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (!/^https?:\/\//i.test(value.trim())) {
    throw new FiefError(`baseURL "${value}" is not an absolute URL: include the scheme, e.g. "https://example.fief.dev"`);
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new FiefError(`baseURL "${value}" must not have a query or a fragment`);
  }
  if (url.username !== '' || url.password !== '') throw new FiefError(`baseURL must not carry credentials`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Plain http only to this machine, unless the app says otherwise: anywhere else the access tokens,
 * authorization codes and the client secret sent to Fief could be read or changed on the way.
 */
function checkTransport(baseURL: string, allowInsecureHttp: boolean): void {
  const url = new URL(baseURL);
  if (url.protocol !== 'http:' || allowInsecureHttp || isLoopback(url.hostname)) return;
  throw new FiefError(
    `baseURL "${baseURL}" uses http:// on a host that is not loopback: tokens, codes and the client secret would cross ` +
      'the network in clear. Use https://, or set allowInsecureHttp: true for a network you trust',
  );
}

/** `localhost`, 127.0.0.0/8 and ::1, as the WHATWG URL parser normalises them. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function parseEncryptionKey(value: unknown): JWK {
  if (typeof value !== 'string') throw new FiefError('encryptionKey must be the private JWK as a JSON string, as Fief gives it');
  let jwk: unknown;
  try {
    jwk = JSON.parse(value);
  } catch {
    throw new FiefError('encryptionKey is not valid JSON: give the private JWK exactly as Fief shows it');
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new FiefError('encryptionKey must be a JSON object (a JWK)');
  const key = jwk as JWK;
  if (key.kty !== 'RSA') throw new FiefError(`encryptionKey must be an RSA JWK, not kty ${JSON.stringify(key.kty)}`);
  if (typeof key.d !== 'string') throw new FiefError('encryptionKey is a public key: Fief gives the private JWK (with "d") to decrypt ID tokens');
  if (key.alg !== undefined && key.alg !== 'RSA-OAEP-256') {
    throw new FiefError(`encryptionKey alg must be RSA-OAEP-256, not ${JSON.stringify(key.alg)}`);
  }
  if (key.use !== undefined && key.use !== 'enc') throw new FiefError(`encryptionKey use must be "enc", not ${JSON.stringify(key.use)}`);
  // key_ops/ext from another tool could make WebCrypto refuse the import for an otherwise good key.
  const { key_ops: _keyOps, ext: _ext, ...usable } = key;
  return { ...usable, alg: 'RSA-OAEP-256' };
}

/** @throws FiefError unless `value` is an absolute URL. */
export function checkRedirectUri(value: unknown): void {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new FiefError(`redirectUri must be an absolute URL, got ${JSON.stringify(value)}`);
}

/** `value` when it is a non-empty string; else a FiefError naming `name`. */
export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new FiefError(`${name} must be a non-empty string`);
  return value;
}

function positiveNumber(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new FiefError(`${name} must be a positive number`);
  return value;
}

function nonNegativeNumber(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new FiefError(`${name} must be a number >= 0`);
  return value;
}

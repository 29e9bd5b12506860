import { base64url } from 'jose';
import { FiefError } from './errors.js';

/** RFC 7636 4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

function randomBase64url(bytes: number): string {
  return base64url.encode(globalThis.crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * A PKCE code verifier: 64 base64url characters from 48 random bytes (RFC 7636 4.1 asks for 43 to 128).
 *
 * @example
 * const verifier = generateCodeVerifier();
 * const challenge = await getCodeChallenge(verifier); // S256
 */
export function generateCodeVerifier(): string {
  return randomBase64url(48);
}

/**
 * The PKCE code challenge of a verifier: `S256` (base64url of its SHA-256, the default and the one to use)
 * or `plain` (the verifier itself).
 *
 * @throws FiefError when the verifier is not 43 to 128 unreserved characters or the method is unknown.
 */
export async function getCodeChallenge(verifier: string, method: 'plain' | 'S256' = 'S256'): Promise<string> {
  if (typeof verifier !== 'string' || !CODE_VERIFIER.test(verifier)) {
    throw new FiefError('PKCE code verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 4.1)');
  }
  if (method === 'plain') return verifier;
  if (method !== 'S256') throw new FiefError(`Unknown PKCE method "${String(method)}": use "S256" or "plain"`);
  return sha256Base64url(verifier);
}

/** A random `state` value (256 bits, base64url), to bind a callback to the browser that started the login. */
export function generateState(): string {
  return randomBase64url(32);
}

/** A random OIDC `nonce` (256 bits, base64url), to bind an ID token to the login that asked for it. */
export function generateNonce(): string {
  return randomBase64url(32);
}

/** base64url(SHA-256(ASCII value)). */
export async function sha256Base64url(value: string): Promise<string> {
  return base64url.encode(new Uint8Array(await sha256(value)));
}

/** OIDC Core 3.1.3.6 / 3.3.2.11: base64url of the left half of SHA-256 (RS256), for `at_hash` and `c_hash`. */
export async function leftHalfHash(value: string): Promise<string> {
  const digest = new Uint8Array(await sha256(value));
  return base64url.encode(digest.subarray(0, digest.length / 2));
}

function sha256(value: string): Promise<ArrayBuffer> {
  return globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(value));
}

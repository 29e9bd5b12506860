import { randomUUID, type webcrypto } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

/** One RS256 signing key of a tenant, kept both as CryptoKeys (to sign and verify fast) and as JWKs (for oidc-provider). */
export interface SigningKey {
  kid: string;
  // node:crypto's type, not the DOM's: an app compiled without lib "DOM" must still read these declarations.
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

export async function createSigningKey(modulusLength: number): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength, extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk, privateJwk };
}

/**
 * Signs `claims` with `key`; `overrides` replaces or adds claims (an `undefined` value removes one) and
 * `header` replaces header fields, so tests can forge exactly the token they need.
 */
export function signWith(
  key: SigningKey,
  claims: JWTPayload,
  overrides: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload: Record<string, unknown> = { ...claims, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.kid, ...header }).sign(key.privateKey);
}

import { createPublicKey, type KeyObject } from 'node:crypto';
import { importJWK, type CryptoKey, type JWK } from 'jose';

/** One public key fit to verify RS256 signatures, in the two forms the verifiers use, built once. */
export interface VerificationKey {
  /** For jose (ID tokens). */
  readonly cryptoKey: CryptoKey;
  /** For node:crypto's one-shot verify (access tokens). */
  readonly keyObject: KeyObject;
}

/**
 * What Fief's JWKS publishes under one `kid`: the keys fit to verify (each tried in turn), or why
 * none is. A refused kid is still a *known* kid: a token naming it is refused at once, with no refetch.
 */
export type PublishedKey = { readonly fit: true; readonly keys: readonly VerificationKey[] } | { readonly fit: false; readonly reason: string };

/** RFC 8725 §3.5 and NIST SP 800-131A: nothing weaker than 2048 bits signs a token we accept. */
export const MIN_RSA_BITS = 2048;
/**
 * Most fit keys tried for one kid. Fief publishes one key per kid; a rotation may briefly list two.
 * The bound keeps the work a forged token can cost to a few verifications, whatever the JWKS holds.
 */
export const MAX_KEYS_PER_KID = 4;
/** JWK members that only a private key has: a JWKS carrying them is leaking a secret, not publishing a key. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * The JWKS's entries by kid. Entries without a string kid are ignored (no token can name them).
 * Under one kid, unfit entries never shadow fit ones; identical keys count once.
 */
export async function buildKeySet(entries: readonly unknown[]): Promise<Map<string, PublishedKey>> {
  const fit = new Map<string, Map<string, JWK>>();
  const refused = new Map<string, string>();
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null) continue;
    const kid = (entry as { kid?: unknown }).kid;
    if (typeof kid !== 'string' || kid === '') continue;
    const verdict = fitness(entry as Record<string, unknown>);
    if (typeof verdict === 'string') {
      if (!refused.has(kid)) refused.set(kid, verdict);
      continue;
    }
    const keys = fit.get(kid) ?? new Map<string, JWK>();
    keys.set(`${verdict.n}.${verdict.e}`, verdict);
    fit.set(kid, keys);
  }
  const published = new Map<string, PublishedKey>();
  for (const [kid, reason] of refused) published.set(kid, { fit: false, reason });
  for (const [kid, jwks] of fit) {
    if (jwks.size > MAX_KEYS_PER_KID) {
      published.set(kid, { fit: false, reason: `Fief publishes ${jwks.size} keys under it; at most ${MAX_KEYS_PER_KID} are tried` });
      continue;
    }
    const keys: VerificationKey[] = [];
    let failure = '';
    for (const jwk of jwks.values()) {
      // One entry neither WebCrypto nor OpenSSL can import must not take the tenant's genuine key down with it.
      try {
        keys.push({ cryptoKey: (await importJWK(jwk, 'RS256')) as CryptoKey, keyObject: createPublicKey({ key: jwk as never, format: 'jwk' }) });
      } catch (error) {
        failure = `it cannot be imported (${(error as Error).message})`;
      }
    }
    published.set(kid, keys.length > 0 ? { fit: true, keys } : { fit: false, reason: failure });
  }
  return published;
}

/** Whether any kid of the set can verify a token. */
export function hasFitKey(keys: Map<string, PublishedKey>): boolean {
  for (const key of keys.values()) if (key.fit) return true;
  return false;
}

/**
 * The JWK reduced to its public RSA members when it may verify RS256 signatures (issue 10 §1, RFC 7517
 * §4.2-4.4, RFC 8017 §3.1); otherwise why not.
 */
function fitness(jwk: Record<string, unknown>): JWK | string {
  if (jwk.kty !== 'RSA') return `kty ${JSON.stringify(jwk.kty)} is not RSA`;
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) return 'it carries private key members';
  if (jwk.use !== undefined && jwk.use !== 'sig') return `use ${JSON.stringify(jwk.use)} is not "sig"`;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    return `key_ops ${JSON.stringify(jwk.key_ops)} does not contain "verify"`;
  }
  if (jwk.alg !== undefined && jwk.alg !== 'RS256') return `alg ${JSON.stringify(jwk.alg)} is not RS256`;
  const n = unsignedInteger(jwk.n);
  const e = unsignedInteger(jwk.e);
  if (n === undefined || e === undefined) return '"n" or "e" is not a base64url integer';
  const bits = n.toString(2).length;
  if (n === 0n || bits < MIN_RSA_BITS) return `its modulus has ${n === 0n ? 0 : bits} bits, fewer than ${MIN_RSA_BITS}`;
  if (n % 2n === 0n) return 'its modulus is even';
  // e = 1 makes the signature equal the padded hash: anyone could sign. An even e is no RSA key at all.
  if (e < 3n || e % 2n === 0n || e >= n) return `its public exponent ${e <= 0xffffffffn ? e : 'of ' + e.toString(2).length + ' bits'} is not an odd integer >= 3 (below n)`;
  return { kty: 'RSA', kid: jwk.kid as string, n: jwk.n as string, e: jwk.e as string, alg: 'RS256', use: 'sig' };
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function unsignedInteger(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !BASE64URL.test(value)) return undefined;
  const hex = Buffer.from(value, 'base64url').toString('hex');
  return hex === '' ? undefined : BigInt(`0x${hex}`);
}

import { verify } from 'node:crypto';
import type { VerificationKey } from './signing-keys.js';

/**
 * Where the access-token RS256 signature is checked: `sync` on the calling thread (no hand-off, the
 * cheapest CPU), or `thread-pool` in libuv's pool (the event loop stays free while RSA runs). Internal:
 * the benchmark picks by measurement (p99 of an unguarded route under many-token load).
 */
export type SignatureVerifyMode = 'sync' | 'thread-pool';

let mode: SignatureVerifyMode = 'sync';

/** Internal switch for the benchmark; not part of the public API. */
export function setSignatureVerifyMode(next: SignatureVerifyMode): void {
  if (next !== 'sync' && next !== 'thread-pool') throw new TypeError(`Unknown signature verify mode ${JSON.stringify(next)}`);
  mode = next;
}

/** The mode in use. */
export function getSignatureVerifyMode(): SignatureVerifyMode {
  return mode;
}

/**
 * Whether `signature` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `input` by one of `keys` (each
 * tried in turn), with node:crypto's one-shot verify. Synchronous in `sync` mode.
 */
export function verifyRs256(input: Uint8Array, signature: Uint8Array, keys: readonly VerificationKey[]): boolean | Promise<boolean> {
  if (mode === 'thread-pool') return verifyInPool(input, signature, keys);
  for (const key of keys) {
    try {
      if (verify('RSA-SHA256', input, key.keyObject, signature)) return true;
    } catch {
      // OpenSSL refusing the input (e.g. a signature longer than the modulus) is a failed verification.
    }
  }
  return false;
}

async function verifyInPool(input: Uint8Array, signature: Uint8Array, keys: readonly VerificationKey[]): Promise<boolean> {
  for (const key of keys) {
    const verified = await new Promise<boolean>((resolve) => {
      try {
        verify('RSA-SHA256', input, key.keyObject, signature, (error, result) => resolve(!error && result));
      } catch {
        resolve(false);
      }
    });
    if (verified) return true;
  }
  return false;
}

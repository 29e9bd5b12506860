import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose';
import { normalizeCookieSecrets } from './login-options.js';

/**
 * What a sealed cookie is for. Each purpose derives its own keys, so a session cookie can never be
 * replayed as a login transaction cookie or the other way round. `session-refresh` seals a
 * refreshed session left in the shared FiefStore for other instances: what a reader of the store
 * finds there is no usable cookie.
 */
export type CookiePurpose = 'session' | 'login-transaction' | 'session-refresh';

const HKDF_SALT = 'nestjs-fief cookie keys';
const JWE_HEADER = { alg: 'dir', enc: 'A256GCM' } as const;

/**
 * Encrypts and authenticates cookie contents as a JWT in a JWE (`dir` + `A256GCM`), with keys derived
 * by HKDF-SHA256 from the configured secrets, so a secret of any length (≥ 32 bytes) gives a proper
 * 256-bit key. The first secret seals; every secret unseals, which is how secrets rotate.
 *
 * @example
 * const sealer = new CookieSealer([newSecret, oldSecret], 'session');
 * const value = await sealer.seal({ at: accessToken }, Math.floor(Date.now() / 1000) + 3600);
 * const claims = await sealer.unseal(value); // undefined when tampered, expired or foreign
 */
export class CookieSealer {
  private readonly keys: Uint8Array[];

  /** @throws FiefError when a secret is shorter than 32 bytes. */
  constructor(secrets: string | readonly string[], purpose: CookiePurpose) {
    this.keys = normalizeCookieSecrets(secrets).map(
      (secret) => new Uint8Array(hkdfSync('sha256', secret, HKDF_SALT, `nestjs-fief ${purpose} cookie v1`, 32)),
    );
  }

  /** Seals `claims` until `expiresAt` (seconds since the epoch). */
  seal(claims: JWTPayload, expiresAt: number): Promise<string> {
    return new EncryptJWT(claims)
      .setProtectedHeader(JWE_HEADER)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .encrypt(this.keys[0]);
  }

  /**
   * Opens a sealed value. Anything that does not open with one of the keys, is malformed or has
   * expired gives `undefined`: to the caller it is simply no cookie.
   */
  async unseal(value: string | undefined): Promise<JWTPayload | undefined> {
    if (!value) return undefined;
    for (const key of this.keys) {
      try {
        const { payload } = await jwtDecrypt(value, key, {
          keyManagementAlgorithms: [JWE_HEADER.alg],
          contentEncryptionAlgorithms: [JWE_HEADER.enc],
          requiredClaims: ['exp', 'iat'],
        });
        return payload;
      } catch (error) {
        // Only a failed decryption means "maybe the next key"; a claim failure (expired) came
        // from a cookie that did decrypt, so no other key can make it valid.
        if ((error as { code?: string }).code !== 'ERR_JWE_DECRYPTION_FAILED') return undefined;
      }
    }
    return undefined;
  }
}

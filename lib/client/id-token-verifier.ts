import { compactDecrypt, errors as joseErrors, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { FiefError, FiefIdTokenInvalid } from './errors.js';
import { leftHalfHash } from './pkce.js';
import type { VerificationKey } from './signing-keys.js';
import { checkAuthorizedParty, checkTimeClaims, expectedIssuer, verificationKeys, type TokenVerificationContext } from './token-checks.js';
import { ID_TOKEN_TYPES, parseCompactJws, unverifiedIssuedAt } from './token-header.js';
import type { FiefTokenResponse, FiefUserInfo } from './types.js';

/**
 * OIDC Core 3.1.3.7 for the ID token of a token response: decrypt (when configured), then
 * signature, iss, aud, azp, exp/iat, nonce, at_hash and c_hash.
 */
export class IdTokenVerifier {
  private encryptionKey?: Promise<CryptoKey>;

  constructor(
    private readonly context: TokenVerificationContext,
    private readonly encryptionJwk?: JWK,
  ) {}

  /** @throws FiefIdTokenInvalid, FiefUnavailableError, FiefError (an encryptionKey WebCrypto cannot import). */
  async verify(tokens: FiefTokenResponse, expected: { nonce?: string; code?: string }): Promise<FiefUserInfo> {
    const { context } = this;
    const signed = await this.decrypt(tokens.id_token);
    const jws = parseCompactJws(signed, FiefIdTokenInvalid, ID_TOKEN_TYPES);
    const issuer = await expectedIssuer(context);
    const keys = await verificationKeys(context, jws.kid, FiefIdTokenInvalid, () => unverifiedIssuedAt(jws));
    let claims: JWTPayload;
    try {
      claims = await this.verifyWithAny(signed, keys, issuer);
    } catch (error) {
      if (error instanceof FiefError) throw error;
      throw new FiefIdTokenInvalid(`ID token refused: ${(error as Error).message}`, { cause: error });
    }
    const refuse = (reason: string) => new FiefIdTokenInvalid(`ID token refused: ${reason}`);
    checkTimeClaims(claims, context, refuse, false);
    checkAuthorizedParty(claims, [context.clientId], refuse);
    if (expected.nonce !== undefined && claims.nonce !== expected.nonce) throw refuse('"nonce" does not match the one sent');
    if (claims.at_hash !== undefined && claims.at_hash !== (await leftHalfHash(tokens.access_token))) {
      throw refuse('"at_hash" does not match the access token');
    }
    if (claims.c_hash !== undefined && expected.code !== undefined && claims.c_hash !== (await leftHalfHash(expected.code))) {
      throw refuse('"c_hash" does not match the authorization code');
    }
    return claims as FiefUserInfo;
  }

  /** jose's verification with each fit key Fief publishes under the kid, in turn. */
  private async verifyWithAny(signed: string, keys: readonly VerificationKey[], issuer: string): Promise<JWTPayload> {
    const { context } = this;
    for (let index = 0; ; index++) {
      try {
        const { payload } = await jwtVerify(signed, keys[index].cryptoKey, {
          algorithms: ['RS256'],
          issuer,
          audience: context.clientId,
          clockTolerance: context.clockTolerance,
          requiredClaims: ['exp', 'iat', 'sub'],
        });
        return payload;
      } catch (error) {
        if (!(error instanceof joseErrors.JWSSignatureVerificationFailed) || index === keys.length - 1) throw error;
      }
    }
  }

  private async decrypt(idToken: string): Promise<string> {
    const parts = idToken.split('.').length;
    if (!this.encryptionJwk) {
      if (parts === 5) throw new FiefIdTokenInvalid('ID token is encrypted but no encryptionKey is configured');
      return idToken;
    }
    if (parts !== 5) throw new FiefIdTokenInvalid('ID token is not encrypted although an encryptionKey is configured');
    // Imported once and awaited by everyone (the JS client raced this import, defect 2).
    this.encryptionKey ??= importJWK(this.encryptionJwk, 'RSA-OAEP-256').then((key) => key as CryptoKey);
    let key: CryptoKey;
    try {
      key = await this.encryptionKey;
    } catch (error) {
      this.encryptionKey = undefined;
      throw new FiefError(`encryptionKey cannot be imported as an RSA-OAEP-256 private key: ${(error as Error).message}`, { cause: error });
    }
    try {
      const { plaintext } = await compactDecrypt(idToken, key, {
        keyManagementAlgorithms: ['RSA-OAEP-256'],
        contentEncryptionAlgorithms: ['A256CBC-HS512'],
      });
      return new TextDecoder().decode(plaintext);
    } catch (error) {
      throw new FiefIdTokenInvalid(`ID token cannot be decrypted: ${(error as Error).message}`, { cause: error });
    }
  }
}

import { isFiefAcr } from './access-token-requirements.js';
import { FiefAccessTokenInvalid } from './errors.js';
import { verifyRs256 } from './rs256.js';
import {
  checkAuthorizedParty,
  checkRegisteredClaims,
  expectedIssuer,
  fitKeys,
  verificationKeys,
  type Claims,
  type TokenVerificationContext,
} from './token-checks.js';
import type { VerificationKey } from './signing-keys.js';
import { ACCESS_TOKEN_TYPES, CLAIMS_SET_INVALID_MESSAGE, decodeJsonObject, parseCompactJws, unverifiedIssuedAt, unverifiedIssuer, type CompactJws } from './token-header.js';
import { FiefACR, type FiefAccessTokenInfo } from './types.js';

/** Claims only ID tokens carry: an access token with one of them is an ID token in disguise. */
const ID_TOKEN_ONLY_CLAIMS = ['nonce', 'at_hash', 'c_hash', 'email'] as const;

const refuse = (reason: string) => new FiefAccessTokenInvalid(`Access token refused: ${reason}`);

/**
 * Verifies access tokens with no cache: the token must be an RS256 JWS from the issuer, for this
 * client (`aud` and `azp`), within `exp`/`nbf`/`iat`, and shaped like a Fief access token.
 *
 * The signature is checked with node:crypto's one-shot verify and a `KeyObject` built once per key
 * (issue 14); the claims to jose's rules by {@link checkRegisteredClaims}. The token is split once
 * and each segment decoded once; a warm miss allocates no promise.
 */
export class AccessTokenVerifier {
  constructor(private readonly context: TokenVerificationContext) {}

  /**
   * On a warm miss (issuer and the kid's keys cached, `sync` signature mode) this runs to the end
   * without an await and returns the info itself; otherwise a promise of it. Refusals found before
   * any await are thrown synchronously.
   *
   * @returns what the token grants, frozen.
   * @throws FiefAccessTokenExpired, FiefAccessTokenInvalid, FiefUnavailableError.
   */
  verify(accessToken: string): FiefAccessTokenInfo | Promise<FiefAccessTokenInfo> {
    const { issuer: configured, metadata } = this.context;
    const jws = parseCompactJws(accessToken, FiefAccessTokenInvalid, ACCESS_TOKEN_TYPES);
    const issuer = configured ?? metadata.cachedIssuer();
    const published = metadata.knownSigningKey(jws.kid);
    if (issuer === undefined || published === undefined) return this.verifyAfterFetch(jws, issuer);
    return this.verifySigned(jws, issuer, fitKeys(published, jws.kid, FiefAccessTokenInvalid));
  }

  /** The cold path: discovery and keys are fetched (or refetched for an unknown kid) first. */
  private async verifyAfterFetch(jws: CompactJws, cachedIssuer: string | undefined): Promise<FiefAccessTokenInfo> {
    const issuer = cachedIssuer ?? (await expectedIssuer(this.context));
    // Another issuer's token (another tenant of the same Fief) is refused here: its kid is unknown
    // to us, and must trigger neither a key refetch nor the 503 of a key that may have rotated in.
    if (this.context.metadata.knownSigningKey(jws.kid) === undefined && unverifiedIssuer(jws) !== issuer) {
      throw refuse('unexpected "iss" claim value');
    }
    const keys = await verificationKeys(this.context, jws.kid, FiefAccessTokenInvalid, () => unverifiedIssuedAt(jws));
    return this.verifySigned(jws, issuer, keys);
  }

  private verifySigned(jws: CompactJws, issuer: string, keys: readonly VerificationKey[]): FiefAccessTokenInfo | Promise<FiefAccessTokenInfo> {
    const { token, signatureStart } = jws;
    // The signing input is ASCII (checked by parseCompactJws): latin1 is its byte-for-byte encoding.
    const verified = verifyRs256(Buffer.from(token.slice(0, signatureStart), 'latin1'), Buffer.from(token.slice(signatureStart + 1), 'base64url'), keys);
    if (verified === true) return this.grant(jws, issuer);
    if (verified === false) throw refuse('signature verification failed');
    return verified.then((valid) => {
      if (!valid) throw refuse('signature verification failed');
      return this.grant(jws, issuer);
    });
  }

  /** The claims checks after the signature; what the token grants. */
  private grant(jws: CompactJws, issuer: string): FiefAccessTokenInfo {
    const accessToken = jws.token;
    let claims: Claims;
    try {
      claims = decodeJsonObject(accessToken, jws.payloadStart + 1, jws.signatureStart, CLAIMS_SET_INVALID_MESSAGE);
    } catch (error) {
      throw refuse((error as Error).message);
    }
    const { audiences } = this.context;
    checkRegisteredClaims(claims, this.context, issuer, audiences, refuse);
    checkAuthorizedParty(claims, audiences, refuse);
    for (const claim of ID_TOKEN_ONLY_CLAIMS) {
      if (claim in claims) throw refuse(`it carries "${claim}", so it is an ID token, not an access token`);
    }
    const { sub, scope } = claims;
    if (typeof sub !== 'string' || sub === '') throw refuse('"sub" is not a string');
    if (typeof scope !== 'string') throw refuse('it has no "scope" string, so it is not a Fief access token');
    const permissions = claims.permissions ?? [];
    if (!Array.isArray(permissions) || permissions.some((permission) => typeof permission !== 'string')) {
      throw refuse('"permissions" is not an array of strings');
    }
    const acr = claims.acr ?? FiefACR.LEVEL_ZERO;
    if (!isFiefAcr(acr)) throw refuse(`unknown "acr" ${JSON.stringify(acr)}`);
    return Object.freeze({
      id: sub,
      scope: Object.freeze(scope.split(' ').filter((granted) => granted !== '')) as string[],
      acr,
      // Parsed for this token alone: frozen as is, not copied.
      permissions: Object.freeze(permissions) as string[],
      access_token: accessToken,
      exp: claims.exp as number,
    });
  }
}

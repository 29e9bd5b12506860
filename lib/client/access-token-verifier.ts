import { isFiefAcr } from './access-token-requirements.js';
import { FiefAccessTokenInvalid } from './errors.js';
import { verifyRs256 } from './rs256.js';
import {
  checkAuthorizedParty,
  checkRegisteredClaims,
  expectedIssuer,
  verificationKeys,
  type Claims,
  type TokenVerificationContext,
} from './token-checks.js';
import { ACCESS_TOKEN_TYPES, CLAIMS_SET_INVALID_MESSAGE, decodeJsonObject, parseCompactJws, unverifiedIssuedAt } from './token-header.js';
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
 * and each segment decoded once.
 */
export class AccessTokenVerifier {
  constructor(private readonly context: TokenVerificationContext) {}

  /**
   * @returns what the token grants, frozen.
   * @throws FiefAccessTokenExpired, FiefAccessTokenInvalid, FiefUnavailableError.
   */
  async verify(accessToken: string): Promise<FiefAccessTokenInfo> {
    const context = this.context;
    const jws = parseCompactJws(accessToken, FiefAccessTokenInvalid, ACCESS_TOKEN_TYPES);
    const issuer = context.issuer ?? context.metadata.cachedIssuer() ?? (await expectedIssuer(context));
    const keys = await verificationKeys(context, jws.kid, FiefAccessTokenInvalid, () => unverifiedIssuedAt(jws));
    // The signing input is ASCII (checked above): latin1 is its byte-for-byte encoding.
    const signingInput = Buffer.from(accessToken.slice(0, jws.signatureStart), 'latin1');
    const signature = Buffer.from(accessToken.slice(jws.signatureStart + 1), 'base64url');
    const verified = verifyRs256(signingInput, signature, keys);
    if (!(verified === true || (verified !== false && (await verified)))) throw refuse('signature verification failed');
    let claims: Claims;
    try {
      claims = decodeJsonObject(accessToken, jws.payloadStart + 1, jws.signatureStart, CLAIMS_SET_INVALID_MESSAGE);
    } catch (error) {
      throw refuse((error as Error).message);
    }
    return this.grant(accessToken, claims, issuer);
  }

  /** The claims checks after the signature; what the token grants. */
  private grant(accessToken: string, claims: Claims, issuer: string): FiefAccessTokenInfo {
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
      permissions: Object.freeze(permissions.slice()) as string[],
      access_token: accessToken,
      exp: claims.exp as number,
    });
  }
}

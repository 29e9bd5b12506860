import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { isFiefAcr } from './access-token-requirements.js';
import { FiefAccessTokenExpired, FiefAccessTokenInvalid, FiefError } from './errors.js';
import { checkAuthorizedParty, checkIssuedAt, verificationKey, expectedIssuer, type TokenVerificationContext } from './token-checks.js';
import { ACCESS_TOKEN_TYPES, checkHeader } from './token-header.js';
import { FiefACR, type FiefAccessTokenInfo } from './types.js';

/** Claims only ID tokens carry: an access token with one of them is an ID token in disguise. */
const ID_TOKEN_ONLY_CLAIMS = ['nonce', 'at_hash', 'c_hash', 'email'] as const;

/**
 * Verifies access tokens with no cache: the token must be an RS256 JWS from the issuer, for this
 * client (`aud` and `azp`), within `exp`/`nbf`/`iat`, and shaped like a Fief access token.
 */
export class AccessTokenVerifier {
  constructor(private readonly context: TokenVerificationContext) {}

  /**
   * @returns what the token grants, frozen.
   * @throws FiefAccessTokenExpired, FiefAccessTokenInvalid, FiefUnavailableError.
   */
  async verify(accessToken: string): Promise<FiefAccessTokenInfo> {
    const context = this.context;
    const kid = checkHeader(accessToken, FiefAccessTokenInvalid, ACCESS_TOKEN_TYPES);
    const issuer = context.issuer ?? (await expectedIssuer(context));
    // The key is resolved first and handed over as a CryptoKey: jose's cheapest path.
    const key = await verificationKey(context, kid, FiefAccessTokenInvalid, accessToken);
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(accessToken, key, {
        algorithms: ['RS256'],
        issuer,
        audience: context.audiences,
        clockTolerance: context.clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (error) {
      if (error instanceof FiefError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new FiefAccessTokenExpired('Access token has expired', { cause: error });
      throw new FiefAccessTokenInvalid(`Access token refused: ${(error as Error).message}`, { cause: error });
    }
    const refuse = (reason: string) => new FiefAccessTokenInvalid(`Access token refused: ${reason}`);
    checkAuthorizedParty(claims, context.audiences, refuse);
    checkIssuedAt(claims, context.clockTolerance, refuse);
    for (const claim of ID_TOKEN_ONLY_CLAIMS) {
      if (claim in claims) throw refuse(`it carries "${claim}", so it is an ID token, not an access token`);
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') throw refuse('"sub" is not a string');
    if (typeof claims.scope !== 'string') throw refuse('it has no "scope" string, so it is not a Fief access token');
    const permissions = claims.permissions ?? [];
    if (!Array.isArray(permissions) || permissions.some((permission) => typeof permission !== 'string')) {
      throw refuse('"permissions" is not an array of strings');
    }
    const acr = claims.acr ?? FiefACR.LEVEL_ZERO;
    if (!isFiefAcr(acr)) throw refuse(`unknown "acr" ${JSON.stringify(acr)}`);
    return Object.freeze({
      id: claims.sub,
      scope: Object.freeze(claims.scope.split(' ').filter((scope) => scope !== '')) as string[],
      acr,
      permissions: Object.freeze([...(permissions as string[])]) as string[],
      access_token: accessToken,
      exp: claims.exp!,
    });
  }
}

import {
  FiefAccessTokenACRTooLow,
  FiefAccessTokenMissingPermission,
  FiefAccessTokenMissingScope,
  FiefError,
} from './errors.js';
import { FiefACR, type FiefAccessTokenInfo, type FiefValidateParameters } from './types.js';

/** ACR levels from weakest to strongest. */
const ACR_ORDER: readonly string[] = [FiefACR.LEVEL_ZERO, FiefACR.LEVEL_ONE];

/**
 * Checks what a verified access token grants against requirements. Pure and synchronous, so the
 * client and the Nest guard share it and cached tokens are re-checked on every request.
 *
 * @example
 * const info = await fief.verifyAccessToken(token);
 * checkAccessTokenInfo(info, { requiredScope: ['openid'], requiredPermissions: ['castles:create'] });
 * @throws FiefAccessTokenMissingScope when a required scope is not granted.
 * @throws FiefAccessTokenACRTooLow when the token's ACR is below `requiredAcr`.
 * @throws FiefAccessTokenMissingPermission when a required permission is not granted.
 * @throws FiefError when `requiredAcr` is not a Fief ACR level (a configuration mistake must not pass).
 */
export function checkAccessTokenInfo(info: FiefAccessTokenInfo, params: FiefValidateParameters): void {
  const { requiredScope, requiredAcr, requiredPermissions } = params;
  if (requiredScope !== undefined && requiredScope.length > 0) {
    for (const scope of requiredScope) {
      if (!info.scope.includes(scope)) throw new FiefAccessTokenMissingScope(requiredScope);
    }
  }
  if (requiredAcr !== undefined) {
    const required = ACR_ORDER.indexOf(requiredAcr);
    if (required === -1) throw new FiefError(`requiredAcr must be one of ${ACR_ORDER.join(', ')}, not "${String(requiredAcr)}"`);
    if (ACR_ORDER.indexOf(info.acr) < required) throw new FiefAccessTokenACRTooLow(requiredAcr);
  }
  if (requiredPermissions !== undefined && requiredPermissions.length > 0) {
    for (const permission of requiredPermissions) {
      if (!info.permissions.includes(permission)) throw new FiefAccessTokenMissingPermission(requiredPermissions);
    }
  }
}

/** Whether a claim value is a known ACR level. */
export function isFiefAcr(value: unknown): value is FiefACR {
  return typeof value === 'string' && ACR_ORDER.includes(value);
}

import type { FiefAccessTokenInfo, FiefUserInfo } from '../client/types.js';

/**
 * What the guard (or `AuthGuard('fief')`) attaches to an authenticated request as `request.fief`.
 * `request.user` is the same `accessTokenInfo`, for code written against passport's convention.
 */
export interface FiefRequestContext {
  /** The raw access token, to call Fief or another API on the user's behalf. */
  accessToken: string;
  /** What the verified token grants: `{ id, scope, acr, permissions, access_token, exp }`. */
  accessTokenInfo: FiefAccessTokenInfo;
  /** The user's info from Fief; loaded only for handlers that use `@CurrentUser()`. */
  user?: FiefUserInfo;
  /** The tenant that verified the token, with several tenants (`@FiefTenant()` gives it). */
  tenant?: string;
}

/**
 * A request the guard has authenticated. Absent fields mean anonymous (`@OptionalAuth()` without a
 * credential, or a `@Public()` route).
 *
 * @example
 * @Get('me') me(@Req() request: FiefAuthenticatedRequest) { return request.user?.id; }
 */
export interface FiefAuthenticatedRequest {
  user?: FiefAccessTokenInfo;
  fief?: FiefRequestContext;
}

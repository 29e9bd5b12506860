/** Guard, passport strategy, decorators, token extraction and responses of the Nest module. */
export { getFiefRequest } from './execution-context.js';
export type { FiefAuthFailure } from './fief-auth-failure.js';
export { FiefAuthGuard } from './fief-auth.guard.js';
export { AccessToken, AccessTokenInfo, Acr, CurrentUser, OptionalAuth, Permissions, Public, Scopes } from './fief-auth.decorators.js';
export { buildWwwAuthenticate, createFiefAuthException, toAuthFailure } from './fief-auth-responses.js';
export { FiefPassportInterceptor } from './fief-passport.interceptor.js';
export type { FiefAuthenticatedRequest, FiefRequestContext } from './fief-request.interface.js';
// FiefStrategy is not exported here, not even its type: its declarations import the optional peers
// @nestjs/passport and passport, which an app without them could not type-check.
export { FiefRoutePolicies, resolveRoutePolicy, type FiefRoutePolicy } from './route-policy.js';
export {
  bearerHeaderExtractor,
  FiefInvalidRequestError,
  parseBearerAuthorization,
  type FiefTokenExtractor,
  type FiefTokenExtractors,
} from './token-extractor.js';
export { InMemoryFiefUserInfoCache, type FiefUserInfoCache } from './user-info-cache.js';

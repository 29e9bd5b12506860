/** Guard, passport strategy, decorators, token extraction and responses of the Nest module. */
export { getFiefRequest } from './execution-context.js';
export type { FiefAuthFailure } from './fief-auth-failure.js';
export { FiefAuthGuard } from './fief-auth.guard.js';
export { answerFiefError, FiefErrorFilter, type FiefErrorAnswer } from './fief-error.filter.js';
export { AccessToken, AccessTokenInfo, Acr, CurrentUser, OptionalAuth, Permissions, Public, Scopes } from './fief-auth.decorators.js';
export { buildWwwAuthenticate, createFiefAuthException, toAuthFailure } from './fief-auth-responses.js';
export { FiefPassportInterceptor } from './fief-passport.interceptor.js';
export type { FiefAuthenticatedRequest, FiefRequestContext } from './fief-request.interface.js';
// FiefStrategy is not re-exported: it imports @nestjs/passport, which FiefModule loads only if installed.
export type { FiefStrategy } from './fief.strategy.js';
export { FiefRoutePolicies, resolveRoutePolicy, type FiefRoutePolicy } from './route-policy.js';
export {
  bearerHeaderExtractor,
  FiefInvalidRequestError,
  parseBearerAuthorization,
  type FiefTokenExtractor,
  type FiefTokenExtractors,
} from './token-extractor.js';
export { InMemoryFiefUserInfoCache, type FiefUserInfoCache } from './user-info-cache.js';

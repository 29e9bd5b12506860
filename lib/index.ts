/**
 * The public API of `nestjs-fief`, by name. Nothing else is public: import from here, from
 * `nestjs-fief/passport` for the passport strategy, or from `nestjs-fief/testing` for the dev server.
 */

// --- Fief client core (framework-free) ---
export { FiefClient, checkAccessTokenInfo } from './client/fief-client.js';
export { generateCodeVerifier, getCodeChallenge, generateState, generateNonce } from './client/pkce.js';
export {
  FiefACR,
  type FiefAccessTokenInfo,
  type FiefAuthCallbackParameters,
  type FiefAuthUrlParameters,
  type FiefClientOptions,
  type FiefFetch,
  type FiefRefreshParameters,
  type FiefTokenCacheOptions,
  type FiefTokenResponse,
  type FiefUserInfo,
  type FiefValidateParameters,
} from './client/types.js';
export {
  FiefAccessTokenACRTooLow,
  FiefAccessTokenExpired,
  FiefAccessTokenInvalid,
  FiefAccessTokenMissingPermission,
  FiefAccessTokenMissingScope,
  FiefError,
  FiefIdTokenInvalid,
  FiefRequestError,
  FiefUnavailableError,
} from './client/errors.js';

// --- Nest module ---
export {
  FIEF_ACR_KEY,
  FIEF_CURRENT_USER_KEY,
  FIEF_OPTIONAL_KEY,
  FIEF_PASSPORT_STRATEGY,
  FIEF_PERMISSIONS_KEY,
  FIEF_PUBLIC_KEY,
  FIEF_SCOPES_KEY,
  FIEF_STRATEGY_NAME,
} from './fief.constants.js';
export { FiefModule } from './fief.module.js';
export { FIEF_MODULE_OPTIONS } from './fief.module-definition.js';
export type {
  FiefModuleConfig,
  FiefModuleExtras,
  FiefModuleOptions,
  FiefModuleSharedOptions,
  FiefTenantOptions,
  FiefTenantResolver,
  FiefTenantsModuleOptions,
  ResolvedFiefModuleOptions,
  ResolvedFiefSharedOptions,
} from './fief-module-options.interface.js';
export { FiefService } from './fief.service.js';
export type { FiefTenantRegistry } from './fief-tenants.js';

// --- Guard, decorators, credentials ---
export { FiefAuthGuard } from './auth/fief-auth.guard.js';
export { answerFiefError, FiefErrorFilter, type FiefErrorAnswer } from './auth/fief-error.filter.js';
export { FiefAuthPipeline, type FiefAuthAttempt } from './auth/fief-auth-pipeline.js';
export type { FiefAuthFailure } from './auth/fief-auth-failure.js';
export { AccessToken, AccessTokenInfo, Acr, CurrentUser, FiefTenant, OptionalAuth, Permissions, Public, Scopes } from './auth/fief-auth.decorators.js';
export type { FiefAuthenticatedRequest, FiefRequestContext } from './auth/fief-request.interface.js';
// FiefStrategy needs @nestjs/passport: it is exported by `nestjs-fief/passport`.
export {
  bearerHeaderExtractor,
  FiefInvalidRequestError,
  parseBearerAuthorization,
  type FiefTokenExtractor,
  type FiefTokenExtractors,
} from './auth/token-extractor.js';
export { InMemoryFiefUserInfoCache, type FiefUserInfoCache } from './auth/user-info-cache.js';

// --- Browser login flow (auth controller, session cookie) ---
export { FiefLoginModule, type FiefLoginModuleOptions } from './login/fief-login.module.js';
export type { CookieRequest, CookieResponse } from './login/http-cookies.js';
export { FIEF_LOGIN_REDIRECT_METADATA } from './login/login.constants.js';
export { FiefCookieTooLargeError } from './login/login.errors.js';
export type { FiefLoginClient } from './login/login-client.interface.js';
export type { FiefLoginOptions, ResolvedFiefLoginOptions } from './login/login-options.interface.js';
export { LoginRedirect } from './login/login-redirect.decorator.js';
export { FiefLoginRedirectFilter } from './login/login-redirect.filter.js';
export { isSafeReturnTo, sanitizeReturnTo } from './login/return-to.js';
export { createFiefSessionExtractor } from './login/session-token-extractor.js';
export { FiefSessionService, type FiefSession } from './login/session.service.js';

// --- Transports and Swagger (GraphQL, socket.io, microservices, OpenAPI; their packages load on first use) ---
export {
  FiefTransportAuthGuard,
  getTransportRequest,
  graphqlBearerExtractor,
  microservicePayloadExtractor,
  socketIoHandshakeExtractor,
  type FiefTransportError,
} from './transports/index.js';
export { createFiefSwaggerDocument, type FiefSwaggerOptions } from './swagger/index.js';

// --- Production: state shared across instances, webhooks ---
export { FiefStoreUnavailableError } from './store/fief-store.errors.js';
export { isFiefStore, type FiefStore } from './store/fief-store.interface.js';
export { FIEF_STORE } from './store/fief-store.providers.js';
export { InMemoryFiefStore, type InMemoryFiefStoreOptions } from './store/in-memory-fief-store.js';
export { RedisFiefStore, type RedisFiefStoreClient, type RedisFiefStoreOptions } from './store/redis-fief-store.js';
export {
  isKnownFiefWebhookEvent,
  type FiefWebhookEvent,
  type FiefWebhookKnownEvent,
  type FiefWebhookObjectEvent,
  type FiefWebhookObjectEventType,
  type FiefWebhookUnknownEvent,
  type FiefWebhookUser,
  type FiefWebhookUserEvent,
  type FiefWebhookUserEventType,
  type FiefWebhookUserPermission,
  type FiefWebhookUserPermissionEvent,
  type FiefWebhookUserRole,
  type FiefWebhookUserRoleEvent,
} from './webhooks/fief-webhook-event.js';
export { FIEF_WEBHOOK_OPTIONS, type FiefWebhookOptions, type ResolvedFiefWebhookOptions } from './webhooks/fief-webhook-options.js';
export { FiefWebhookPayload } from './webhooks/fief-webhook-payload.decorator.js';
export { signFiefWebhook } from './webhooks/fief-webhook-signature.js';
export { FiefWebhookGuard } from './webhooks/fief-webhook.guard.js';

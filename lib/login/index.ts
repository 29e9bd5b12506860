/** The browser login flow: auth controller, session cookie, login transactions, page redirects. */
export { createFiefAuthController } from './auth.controller.js';
export { FIEF_LOGIN_PROVIDERS, FiefLoginModule, type FiefLoginModuleOptions } from './fief-login.module.js';
export { type CookieRequest, type CookieResponse } from './http-cookies.js';
export { FIEF_LOGIN_CLIENT, FIEF_LOGIN_OPTIONS, FIEF_LOGIN_REDIRECT_METADATA } from './login.constants.js';
export { FiefCookieTooLargeError } from './login.errors.js';
export type { FiefLoginClient } from './login-client.interface.js';
export { createFiefLoginModuleParts, type FiefLoginModuleParts } from './login-module-parts.js';
export type { FiefLoginOptions, ResolvedFiefLoginOptions } from './login-options.interface.js';
export { resolveFiefLoginOptions, type FiefLoginClientCredentials } from './login-options.js';
export { LoginRedirect } from './login-redirect.decorator.js';
export { FiefLoginRedirectFilter } from './login-redirect.filter.js';
export { isSafeReturnTo, sanitizeReturnTo } from './return-to.js';
export { createFiefSessionExtractor } from './session-token-extractor.js';
export { FiefSessionService, type FiefSession } from './session.service.js';

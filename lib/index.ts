/**
 * The public API of `nestjs-fief`. Nothing else is public: import from here (or from
 * `nestjs-fief/testing` for the embedded dev server).
 */

// --- Fief client core (framework-free) ---
export * from './client/types.js';
export * from './client/errors.js';
export { FiefClient, checkAccessTokenInfo } from './client/fief-client.js';
export { generateCodeVerifier, getCodeChallenge, generateState, generateNonce } from './client/pkce.js';

// --- Nest module ---
export * from './fief.constants.js';
export { FiefModule } from './fief.module.js';
export { FIEF_MODULE_OPTIONS } from './fief.module-definition.js';
export type { FiefModuleExtras, FiefModuleOptions, ResolvedFiefModuleOptions } from './fief-module-options.interface.js';
export { FiefService } from './fief.service.js';
export * from './auth/index.js';

// --- Browser login flow (auth controller, session cookie) ---
export * from './login/index.js';

// --- Transports and Swagger (GraphQL, socket.io, microservices, OpenAPI; their packages load on first use) ---
export * from './transports/index.js';
export * from './swagger/index.js';

// --- Production: state shared across instances, webhooks ---
export * from './store/index.js';
export * from './webhooks/index.js';

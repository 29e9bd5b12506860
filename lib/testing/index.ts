/**
 * `nestjs-fief/testing`: an embedded Fief-compatible server for samples and e2e tests.
 * Needs the optional peer dependency `oidc-provider`.
 */
export { FiefDevServer } from './fief-dev-server.js';
export { FiefDevTenant, type FiefDevAccessTokenOptions, type FiefDevIdTokenOptions } from './fief-dev-tenant.js';
export {
  DEFAULT_DEV_CLIENT,
  DEFAULT_DEV_USERS,
  type FiefDevClient,
  type FiefDevEndpoint,
  type FiefDevFault,
  type FiefDevLoginFailure,
  type FiefDevLoginResult,
  type FiefDevLoginSuccess,
  type FiefDevServerOptions,
  type FiefDevTenantOptions,
  type FiefDevUser,
  type FiefDevWebhook,
} from './dev-server-types.js';
export type { FiefDevUserUpdate } from './dev-server-users.js';
export { signWebhook, type FiefDevWebhookAttempt, type FiefDevWebhookDelivery } from './dev-server-webhooks.js';
export { FiefTestAgent, type FiefTestRequest, type FiefTestResponse } from './fief-test-agent.js';
export { finishAppLogin, type FiefAppLoginOptions, type FiefAppLoginResult, type FiefTestTarget } from './app-login.js';
export {
  createFiefTestingApp,
  type FiefLoginAsOptions,
  type FiefTestingApp,
  type FiefTestingAppOptions,
  type FiefTestingSettings,
} from './fief-testing-app.js';

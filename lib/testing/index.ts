/**
 * `nestjs-fief/testing`: an embedded Fief-compatible server for samples and e2e tests.
 * Needs the optional peer dependency `oidc-provider`.
 */
export {
  FiefDevServer,
  DEFAULT_DEV_CLIENT,
  DEFAULT_DEV_USERS,
  type FiefDevClient,
  type FiefDevEndpoint,
  type FiefDevFault,
  type FiefDevLoginResult,
  type FiefDevServerOptions,
  type FiefDevUser,
} from './fief-dev-server.js';

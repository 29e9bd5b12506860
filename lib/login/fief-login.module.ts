import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { createFiefAuthController } from './auth.controller.js';
import { FIEF_LOGIN_CLIENT, FIEF_LOGIN_OPTIONS } from './login.constants.js';
import type { FiefLoginClient } from './login-client.interface.js';
import type { FiefLoginOptions } from './login-options.interface.js';
import { loginClientCredentials, resolveFiefLoginOptions } from './login-options.js';
import { FiefLoginRedirectFilter } from './login-redirect.filter.js';
import { FiefLoginTenants } from './login-tenants.js';
import { FiefLoginTransactions } from './login-transaction.service.js';
import { FiefSessionService } from './session.service.js';

/**
 * The providers of the login flow besides its two tokens (`FIEF_LOGIN_OPTIONS`, the resolved
 * options, and `FIEF_LOGIN_CLIENT`): add them to a module to host the flow there.
 */
export const FIEF_LOGIN_PROVIDERS: Provider[] = [FiefSessionService, FiefLoginTransactions, FiefLoginTenants, FiefLoginRedirectFilter];

/** Options of {@link FiefLoginModule.forRoot}. */
export interface FiefLoginModuleOptions extends FiefLoginOptions {
  /** The Fief client to log in with: a `FiefClient`, or anything with the same methods. */
  client: FiefLoginClient;
  /** Mount the auth controller. Off, the session service still works (e.g. with your own routes). @default true */
  controller?: boolean;
}

/**
 * The browser login flow on its own, for apps that drive a `FiefClient` themselves. Apps using
 * `FiefModule` turn the flow on through its `login` option instead.
 *
 * @example
 * FiefLoginModule.forRoot({
 *   client: new FiefClient({ baseURL, clientId, clientSecret }),
 *   redirectUri: 'https://app.example.com/auth/callback',
 *   cookieSecret: process.env.COOKIE_SECRET!,
 * })
 */
@Module({})
export class FiefLoginModule {
  /** @throws FiefError at start-up when an option is wrong. */
  static forRoot(options: FiefLoginModuleOptions): DynamicModule {
    const { client, controller = true, ...loginOptions } = options;
    const resolved = resolveFiefLoginOptions(loginOptions, loginClientCredentials(client));
    return {
      module: FiefLoginModule,
      controllers: controller ? [createFiefAuthController(resolved.path)] : [],
      providers: [
        { provide: FIEF_LOGIN_OPTIONS, useValue: resolved },
        { provide: FIEF_LOGIN_CLIENT, useValue: client },
        ...FIEF_LOGIN_PROVIDERS,
      ],
      exports: [FIEF_LOGIN_OPTIONS, FIEF_LOGIN_CLIENT, ...FIEF_LOGIN_PROVIDERS],
    };
  }
}

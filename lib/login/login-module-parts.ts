import type { InjectionToken, Provider, Type } from '@nestjs/common';
import { createFiefAuthController } from './auth.controller.js';
import { FIEF_LOGIN_CLIENT, FIEF_LOGIN_OPTIONS } from './login.constants.js';
import type { FiefLoginOptions } from './login-options.interface.js';
import { loginClientCredentials, resolveFiefLoginOptions } from './login-options.js';
import { FIEF_LOGIN_PROVIDERS } from './fief-login.module.js';

/** What a host module adds to its own definition to carry the login flow. */
export interface FiefLoginModuleParts {
  controllers: Type<unknown>[];
  providers: Provider[];
  exports: Array<InjectionToken | Provider>;
}

/**
 * The controllers, providers and exports with which a module (`FiefModule`) hosts the login flow,
 * options included even when they come from an async factory.
 *
 * @param parts.optionsToken resolves to the host's options; their `login` field (absent = the flow
 *   is off: no session is read, bearer-only) is validated when the app starts.
 * @param parts.clientToken resolves to the {@link FiefLoginClient} (`FiefService`).
 * @param parts.controllerPath prefix of the auth controller, or `false` for none. It must be
 *   static: Nest reads a controller's path when the module is declared.
 * @example
 * const login = createFiefLoginModuleParts({ optionsToken: FIEF_MODULE_OPTIONS, clientToken: FiefService, controllerPath: 'auth' });
 * return { ...definition, controllers: login.controllers, providers: [...providers, ...login.providers], exports: [...exports, ...login.exports] };
 */
export function createFiefLoginModuleParts(parts: {
  optionsToken: InjectionToken;
  clientToken: InjectionToken;
  controllerPath: string | false;
}): FiefLoginModuleParts {
  return {
    controllers: parts.controllerPath === false ? [] : [createFiefAuthController(parts.controllerPath)],
    providers: [
      {
        provide: FIEF_LOGIN_OPTIONS,
        inject: [parts.optionsToken],
        useFactory: (options: { login?: FiefLoginOptions } | undefined) =>
          options?.login ? resolveFiefLoginOptions(options.login, loginClientCredentials(options)) : null,
      },
      { provide: FIEF_LOGIN_CLIENT, useExisting: parts.clientToken },
      ...FIEF_LOGIN_PROVIDERS,
    ],
    // Guards and page filters are instantiated in the user's modules: they need these.
    exports: [FIEF_LOGIN_OPTIONS, FIEF_LOGIN_CLIENT, ...FIEF_LOGIN_PROVIDERS],
  };
}

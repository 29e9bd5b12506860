import { Inject, Injectable, NotFoundException, Optional, UseGuards, type CanActivate, type InjectionToken, type Provider, type Type } from '@nestjs/common';
import { FIEF_CREDENTIAL_SOURCES } from '../auth/credential-source.js';
import { createFiefAuthController } from './auth.controller.js';
import { FIEF_LOGIN_PROVIDERS } from './fief-login.module.js';
import { FIEF_LOGIN_CLIENT, FIEF_LOGIN_OPTIONS } from './login.constants.js';
import type { FiefLoginOptions, ResolvedFiefLoginOptions } from './login-options.interface.js';
import { loginClientCredentials, resolveFiefLoginOptions } from './login-options.js';
import type { FiefModuleConfig } from '../fief-module-options.interface.js';
import { FiefLoginTenants, tenantsLogin } from './login-tenants.js';
import { createFiefSessionSource } from './session-token-extractor.js';
import { FiefSessionService } from './session.service.js';

/** What a host module adds to its own definition to carry the login flow. */
export interface FiefLoginModuleParts {
  controllers: Type<unknown>[];
  providers: Provider[];
  exports: Array<InjectionToken | Provider>;
}

/** The auth routes of a controller mounted by default while the options have no `login`: 404, as if absent. */
@Injectable()
class FiefLoginOffGuard implements CanActivate {
  constructor(@Optional() @Inject(FIEF_LOGIN_OPTIONS) private readonly options: ResolvedFiefLoginOptions | null) {}

  canActivate(): boolean {
    if (!this.options) throw new NotFoundException();
    return true;
  }
}

/**
 * The controllers, providers and exports with which a module (`FiefModule`) hosts the login flow,
 * options included even when they come from an async factory. Internal to the module wiring.
 *
 * @param parts.optionsToken resolves to the host's options; their `login` field (absent = the flow
 *   is off: no session is read, bearer-only) is validated when the app starts.
 * @param parts.clientToken resolves to the {@link FiefLoginClient} (`FiefService`).
 * @param parts.controllerPath prefix of the auth controller, or `false` for none. It must be
 *   static: Nest reads a controller's path when the module is declared. It is also the prefix
 *   `@LoginRedirect()` sends browsers to (`/{controllerPath}/login`), unless `login.loginPath` says otherwise.
 * @param parts.whenLoginOff with the controller mounted and no `login` options: a start-up error
 *   (`'error'`, the default: the app asked for the routes), or routes that answer 404 (`'not-found'`,
 *   for a controller mounted by default before the options are known).
 */
export function createFiefLoginModuleParts(parts: {
  optionsToken: InjectionToken;
  clientToken: InjectionToken;
  controllerPath: string | false;
  whenLoginOff?: 'error' | 'not-found';
}): FiefLoginModuleParts {
  const controllers: Type<unknown>[] = [];
  if (parts.controllerPath !== false) {
    const controller = createFiefAuthController(parts.controllerPath, { whenLoginOff: parts.whenLoginOff });
    if (parts.whenLoginOff === 'not-found') UseGuards(FiefLoginOffGuard)(controller);
    controllers.push(controller);
  }
  const path = parts.controllerPath === false ? undefined : parts.controllerPath;
  return {
    controllers,
    providers: [
      {
        provide: FIEF_LOGIN_OPTIONS,
        inject: [parts.optionsToken],
        useFactory: (options: FiefModuleConfig | undefined) => {
          // With tenants, the module-wide options are the first tenant's (the prefix and loginPath are
          // shared); each tenant's flow runs with its own (FiefLoginTenants).
          const login = tenantsLogin(options) ?? (options as { login?: FiefLoginOptions } | undefined)?.login;
          if (!login) return null;
          // The secret to check is the one of the client that logs in: the first tenant's, or the module's.
          const tenants = (options as { tenants?: Record<string, unknown> } | undefined)?.tenants;
          const client = loginClientCredentials(tenants ? Object.values(tenants)[0] : options);
          return resolveFiefLoginOptions(path === undefined ? (login as FiefLoginOptions) : { ...(login as FiefLoginOptions), path }, client);
        },
      },
      { provide: FIEF_LOGIN_CLIENT, useExisting: parts.clientToken },
      ...FIEF_LOGIN_PROVIDERS,
      // The session cookie, plugged into the authentication pipeline once, here.
      {
        provide: FIEF_CREDENTIAL_SOURCES,
        inject: [FiefSessionService, FiefLoginTenants],
        useFactory: (sessions: FiefSessionService, tenants: FiefLoginTenants) =>
          sessions.enabled ? [createFiefSessionSource((tenant) => tenants.sessionsOf(tenant))] : [],
      },
    ],
    // Guards and page filters are instantiated in the user's modules: they need these.
    exports: [FIEF_LOGIN_OPTIONS, FIEF_LOGIN_CLIENT, FIEF_CREDENTIAL_SOURCES, ...FIEF_LOGIN_PROVIDERS],
  };
}

import { Logger, Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { FiefAuthGuard } from './auth/fief-auth.guard.js';
import { FiefAuthPipeline } from './auth/fief-auth-pipeline.js';
import { FiefErrorFilter } from './auth/fief-error.filter.js';
import { FiefPassportInterceptor } from './auth/fief-passport.interceptor.js';
import type { FiefModuleExtras } from './fief-module-options.interface.js';
import {
  FIEF_ASYNC_OPTIONS_TYPE,
  FIEF_MODULE_OPTIONS,
  FIEF_OPTIONS_TYPE,
  FiefConfigurableModule,
} from './fief.module-definition.js';
import { FiefService } from './fief.service.js';
import { createFiefLoginModuleParts } from './login/login-module-parts.js';
import { tenantsLogin } from './login/login-tenants.js';
import { FIEF_PASSPORT_STRATEGY } from './fief.constants.js';
import { createFiefStoreProvider, FIEF_STORE } from './store/fief-store.providers.js';
import { createFiefWebhookOptionsProvider, FIEF_WEBHOOK_OPTIONS } from './webhooks/fief-webhook-options.js';

const logger = new Logger('FiefModule');

/**
 * The passport strategy `'fief'`, registered only when `@nestjs/passport` and `passport` load, so
 * apps without passport do not need them. Loading a module is the only work: no network I/O.
 */
function passportStrategyProvider(custom: Type<unknown> | undefined): Provider {
  return {
  provide: FIEF_PASSPORT_STRATEGY,
  inject: [FiefService, FiefAuthPipeline],
  useFactory: async (fief: FiefService, pipeline: FiefAuthPipeline) => {
    // A subclass of FiefStrategy (from `nestjs-fief/passport`) the app gave as `passport`.
    if (custom) return new (custom as new (fief: FiefService, pipeline: FiefAuthPipeline) => unknown)(fief, pipeline);
    let strategy: typeof import('./auth/fief.strategy.js');
    try {
      strategy = await import('./auth/fief.strategy.js');
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
      logger.log(`AuthGuard('fief') is unavailable: ${(error as Error).message.split('\n')[0]}`);
      return null;
    }
    return new strategy.FiefStrategy(fief, pipeline);
  },
  };
}

function withExtras(definition: DynamicModule, extras: FiefModuleExtras, whenLoginOff: 'error' | 'not-found' = 'error'): DynamicModule {
  const providers: Provider[] = [
    ...(definition.providers ?? []),
    createFiefStoreProvider(FIEF_MODULE_OPTIONS),
    createFiefWebhookOptionsProvider(FIEF_MODULE_OPTIONS),
  ];
  if (extras.passport !== false) {
    const custom = typeof extras.passport === 'function' ? extras.passport : undefined;
    providers.push(passportStrategyProvider(custom), { provide: APP_INTERCEPTOR, useClass: FiefPassportInterceptor });
  }
  if (extras.globalGuard === true) providers.push({ provide: APP_GUARD, useClass: FiefAuthGuard });
  if (extras.errorFilter !== false) providers.push({ provide: APP_FILTER, useClass: FiefErrorFilter });
  const login = createFiefLoginModuleParts({
    optionsToken: FIEF_MODULE_OPTIONS,
    clientToken: FiefService,
    controllerPath: extras.authController ?? false,
    whenLoginOff,
  });
  return {
    ...definition,
    global: extras.isGlobal === true,
    providers: [...providers, ...login.providers],
    controllers: [...(definition.controllers ?? []), ...login.controllers],
    // FiefWebhookGuard is instantiated in the user's modules: it needs these.
    exports: [...(definition.exports ?? []), ...login.exports, FIEF_STORE, FIEF_WEBHOOK_OPTIONS],
  };
}

/**
 * Fief authentication for a Nest app: registers `FiefService`, the passport strategy `'fief'` and,
 * on request, `FiefAuthGuard` for every route. Options are checked when the app starts (every
 * mistake listed); nothing talks to Fief until a request needs it, so the app starts while Fief is down.
 *
 * @example
 * FiefModule.forRoot({ baseURL: 'https://example.fief.dev', clientId: '…', clientSecret: '…', isGlobal: true })
 * @example
 * FiefModule.forRootAsync({
 *   imports: [ConfigModule], inject: [ConfigService], globalGuard: true,
 *   useFactory: (config: ConfigService) => ({
 *     baseURL: config.getOrThrow('FIEF_BASE_URL'),
 *     clientId: config.getOrThrow('FIEF_CLIENT_ID'),
 *     clientSecret: config.getOrThrow('FIEF_CLIENT_SECRET'),
 *   }),
 * })
 */
@Module({
  providers: [FiefService, FiefAuthPipeline],
  exports: [FiefService, FiefAuthPipeline],
})
export class FiefModule extends FiefConfigurableModule {
  /** Registers the module with options known up front. `isGlobal` and `globalGuard` go next to them. */
  static override forRoot(options: typeof FIEF_OPTIONS_TYPE): DynamicModule {
    const login = options.login ?? tenantsLogin(options);
    const authController = options.authController ?? (login ? (login.path ?? 'auth') : false);
    return withExtras(super.forRoot(options), { ...options, authController });
  }

  /**
   * Registers the module with options from a factory or a class (e.g. `ConfigService`).
   * `isGlobal`, `globalGuard` and `authController` go here, beside `useFactory`, not in the factory's
   * result. The auth controller is mounted at `/auth` unless `authController` says otherwise
   * (a path, or `false`): controller paths are static, so it is there before the factory runs,
   * and its routes answer 404 while the factory's options have no `login`.
   */
  static override forRootAsync(options: typeof FIEF_ASYNC_OPTIONS_TYPE): DynamicModule {
    const byDefault = options.authController === undefined;
    return withExtras(super.forRootAsync(options), { ...options, authController: options.authController ?? 'auth' }, byDefault ? 'not-found' : 'error');
  }
}

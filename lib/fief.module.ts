import { Logger, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { FiefAuthGuard } from './auth/fief-auth.guard.js';
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
import { FIEF_PASSPORT_STRATEGY } from './fief.constants.js';
import { createFiefStoreProvider, FIEF_STORE } from './store/fief-store.providers.js';
import { createFiefWebhookOptionsProvider, FIEF_WEBHOOK_OPTIONS } from './webhooks/fief-webhook-options.js';

const logger = new Logger('FiefModule');

/**
 * The passport strategy `'fief'`, registered only when `@nestjs/passport` and `passport` load, so
 * apps without passport do not need them. Loading a module is the only work: no network I/O.
 */
const passportStrategyProvider: Provider = {
  provide: FIEF_PASSPORT_STRATEGY,
  inject: [FiefService],
  useFactory: async (fief: FiefService) => {
    let strategy: typeof import('./auth/fief.strategy.js');
    try {
      strategy = await import('./auth/fief.strategy.js');
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
      logger.log(`AuthGuard('fief') is unavailable: ${(error as Error).message.split('\n')[0]}`);
      return null;
    }
    return new strategy.FiefStrategy(fief);
  },
};

function withExtras(definition: DynamicModule, extras: FiefModuleExtras): DynamicModule {
  const providers: Provider[] = [
    ...(definition.providers ?? []),
    createFiefStoreProvider(FIEF_MODULE_OPTIONS),
    createFiefWebhookOptionsProvider(FIEF_MODULE_OPTIONS),
  ];
  if (extras.passport !== false) {
    providers.push(passportStrategyProvider, { provide: APP_INTERCEPTOR, useClass: FiefPassportInterceptor });
  }
  if (extras.globalGuard === true) providers.push({ provide: APP_GUARD, useClass: FiefAuthGuard });
  const login = createFiefLoginModuleParts({
    optionsToken: FIEF_MODULE_OPTIONS,
    clientToken: FiefService,
    controllerPath: extras.authController ?? false,
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
  providers: [FiefService],
  exports: [FiefService],
})
export class FiefModule extends FiefConfigurableModule {
  /** Registers the module with options known up front. `isGlobal` and `globalGuard` go next to them. */
  static override forRoot(options: typeof FIEF_OPTIONS_TYPE): DynamicModule {
    const authController = options.authController ?? (options.login ? (options.login.path ?? 'auth') : false);
    return withExtras(super.forRoot(options), { ...options, authController });
  }

  /**
   * Registers the module with options from a factory or a class (e.g. `ConfigService`).
   * `isGlobal` and `globalGuard` go here, beside `useFactory`, not in the factory's result.
   */
  static override forRootAsync(options: typeof FIEF_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withExtras(super.forRootAsync(options), options);
  }
}

import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { FiefModule } from '../lib/index.js';
import { CastlesController } from './castles.controller.js';
import { HealthController } from './health.controller.js';
import { MeController } from './me.controller.js';

/** The settings the sample reads through `ConfigService`. */
export interface SampleSettings {
  FIEF_BASE_URL: string;
  FIEF_CLIENT_ID: string;
  FIEF_CLIENT_SECRET: string;
}

@Module({})
class SampleAppModule {}

/**
 * The sample app: castles API, `/me`, public `/health`, every other route behind the global
 * `FiefAuthGuard`. Fief's settings come from `ConfigService`: the environment by default, or the
 * given values (tests pass the embedded dev server's).
 */
export function createAppModule(settings?: SampleSettings): DynamicModule {
  return {
    module: SampleAppModule,
    imports: [
      ConfigModule.forRoot({ ignoreEnvFile: true, load: settings ? [() => ({ ...settings })] : [] }),
      FiefModule.forRootAsync({
        imports: [ConfigModule],
        inject: [ConfigService],
        globalGuard: true,
        useFactory: (config: ConfigService<SampleSettings, true>) => ({
          baseURL: config.getOrThrow('FIEF_BASE_URL'),
          clientId: config.getOrThrow('FIEF_CLIENT_ID'),
          clientSecret: config.getOrThrow('FIEF_CLIENT_SECRET'),
          realm: 'castles',
        }),
      }),
    ],
    controllers: [CastlesController, MeController, HealthController],
  };
}

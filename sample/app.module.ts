import { randomBytes } from 'node:crypto';
import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { FiefHealthIndicator } from '../lib/health/index.js';
import { FiefModule } from '../lib/index.js';
import { CastlesController } from './castles.controller.js';
import { HealthController } from './health.controller.js';
import { MeController } from './me.controller.js';
import { PagesController } from './pages.controller.js';
import { WebhooksController } from './webhooks.controller.js';

/** The settings the sample reads through `ConfigService`. */
export interface SampleSettings {
  FIEF_BASE_URL: string;
  FIEF_CLIENT_ID: string;
  FIEF_CLIENT_SECRET: string;
  /** Public URL of the app, where the login callback is. @default http://127.0.0.1:$PORT (3000) */
  APP_URL?: string;
  /** Encrypts the session cookie, at least 32 bytes. @default a random one per run (sessions end on restart) */
  COOKIE_SECRET?: string;
  /** The secret of the Fief webhook pointing at `$APP_URL/webhooks/fief`. @default a random one per run */
  FIEF_WEBHOOK_SECRET?: string;
  /**
   * A second Fief tenant, `globex` (all three, or none): the app then serves two tenants, `duchy`
   * (the `FIEF_*` one) and `globex`, chosen by the host the browser or client calls.
   */
  FIEF_GLOBEX_BASE_URL?: string;
  FIEF_GLOBEX_CLIENT_ID?: string;
  FIEF_GLOBEX_CLIENT_SECRET?: string;
  /** Public URL of the app for `globex`, on its own host. @default http://localhost:$PORT (3000) */
  GLOBEX_APP_URL?: string;
}

@Module({})
class SampleAppModule {}

const port = process.env.PORT ?? 3000;

function loginOptions(appUrl = `http://127.0.0.1:${port}`, cookieSecret = randomBytes(32).toString('base64url')) {
  return {
    redirectUri: `${appUrl}/auth/callback`,
    cookieSecret,
    // Plain http is accepted only for a localhost app URL; anywhere else the cookie is Secure.
    secureCookies: new URL(appUrl).protocol === 'https:',
  };
}

/** The Fief options: one tenant, or `duchy` and `globex` told apart by the host they are called on. */
function fiefOptions(config: ConfigService<SampleSettings, true>) {
  const duchy = {
    baseURL: config.getOrThrow('FIEF_BASE_URL'),
    clientId: config.getOrThrow('FIEF_CLIENT_ID'),
    clientSecret: config.getOrThrow('FIEF_CLIENT_SECRET'),
  };
  const shared = {
    realm: 'castles',
    webhooks: { secret: config.get('FIEF_WEBHOOK_SECRET') ?? randomBytes(32).toString('base64url') },
  };
  const login = loginOptions(config.get('APP_URL'), config.get('COOKIE_SECRET'));
  const globexBaseURL = config.get('FIEF_GLOBEX_BASE_URL');
  if (!globexBaseURL) return { ...duchy, ...shared, login };
  const globexUrl = config.get('GLOBEX_APP_URL') ?? `http://localhost:${port}`;
  const globexHost = new URL(globexUrl).host;
  return {
    ...shared,
    tenants: {
      duchy: duchy,
      globex: {
        baseURL: globexBaseURL,
        clientId: config.getOrThrow('FIEF_GLOBEX_CLIENT_ID'),
        clientSecret: config.getOrThrow('FIEF_GLOBEX_CLIENT_SECRET'),
        login: { redirectUri: `${globexUrl}/auth/callback` },
      },
    },
    // Each host is its own tenant: its tokens, its users, its session cookie (browsers keep cookies per host).
    resolveTenant: (request: { headers: Record<string, string | string[] | undefined> }) =>
      request.headers.host === globexHost ? 'globex' : 'duchy',
    login,
  };
}

/**
 * The sample app: castles API, `/me`, public `/health` (Fief's health) and `/webhooks/fief` (Fief's
 * events, logged), every other route behind the global `FiefAuthGuard`; one Fief tenant, or two
 * (`FIEF_GLOBEX_*`). Fief's settings come from `ConfigService`: the environment by default, or the
 * given values (tests pass the embedded dev server's).
 */
export function createAppModule(settings?: SampleSettings): DynamicModule {
  return {
    module: SampleAppModule,
    imports: [
      ConfigModule.forRoot({ ignoreEnvFile: true, load: settings ? [() => ({ ...settings })] : [] }),
      TerminusModule.forRoot(),
      FiefModule.forRootAsync({
        imports: [ConfigModule],
        inject: [ConfigService],
        globalGuard: true,
        authController: 'auth',
        useFactory: fiefOptions,
      }),
    ],
    controllers: [CastlesController, MeController, HealthController, PagesController, WebhooksController],
    providers: [FiefHealthIndicator],
  };
}

import type { DynamicModule, INestApplication, ModuleMetadata, NestApplicationOptions } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { finishAppLogin } from './app-login.js';
import type { FiefDevServerOptions } from './dev-server-types.js';
import { FiefDevServer } from './fief-dev-server.js';
import type { FiefDevAccessTokenOptions, FiefDevTenant } from './fief-dev-tenant.js';
import { FiefTestAgent } from './fief-test-agent.js';

type Imports = NonNullable<ModuleMetadata['imports']>;

/** The Fief settings of the dev server (or of one of its tenants), as an app is configured with them. */
export interface FiefTestingSettings {
  baseURL: string;
  clientId: string;
  clientSecret: string;
  /** The dev server: mint tokens, add users, set faults, read webhook deliveries. */
  fief: FiefDevServer;
}

/** Options of {@link createFiefTestingApp}. */
export interface FiefTestingAppOptions {
  /**
   * The app's modules, or a function that gets the dev server's settings and returns them (for an
   * app module built from parameters, or imported only once `process.env` is set).
   */
  imports?: Imports | ((settings: FiefTestingSettings) => Imports | Promise<Imports>);
  /** Builds the app yourself instead (e.g. with `Test.createTestingModule` and overrides); it is listened on here. */
  createApp?: (settings: FiefTestingSettings) => Promise<INestApplication>;
  /** The dev server to use (started if needed, left running on close), or options for a new one (stopped on close). */
  devServer?: FiefDevServer | FiefDevServerOptions;
  /** The tenant whose settings the app gets. @default the default tenant */
  tenant?: string;
  /** `express` (Nest's default platform) or `fastify` (needs `@nestjs/platform-fastify`). @default 'express' */
  adapter?: 'express' | 'fastify';
  /** Options of `NestFactory.create`, e.g. `{ rawBody: true }` for webhooks. @default { logger: ['error', 'warn'], abortOnError: false } */
  nestOptions?: NestApplicationOptions;
  /** Runs before the app starts: global pipes, middleware, … */
  configure?: (app: INestApplication) => void | Promise<void>;
  /**
   * Sets `FIEF_BASE_URL`, `FIEF_CLIENT_ID` and `FIEF_CLIENT_SECRET` in `process.env` while the app
   * runs (restored on close), for apps configured from the environment. @default true
   */
  env?: boolean;
  /** The app's login route, for {@link FiefTestingApp.loginAs} with `session: true`. @default '/auth/login' */
  loginPath?: string;
  /** The app's session cookie name. @default 'fief_session' */
  sessionCookieName?: string;
}

/** Options of {@link FiefTestingApp.loginAs}. */
export interface FiefLoginAsOptions extends Omit<FiefDevAccessTokenOptions, 'user'> {
  /** Log in through the app's own login flow and send its session cookie, as a browser; otherwise a bearer token. */
  session?: boolean;
}

/** An app under test, listening on a loopback port, with its dev server. */
export interface FiefTestingApp {
  app: INestApplication;
  /** The app's base URL. */
  url: string;
  fief: FiefDevServer;
  /** The tenant the app is configured with (the default tenant unless `tenant` was given). */
  tenant: FiefDevTenant;
  /** An agent that sends no credential. */
  agent(): FiefTestAgent;
  /**
   * An agent logged in as the user: with a bearer access token minted by the dev server (acr "1"
   * and the user's permissions unless overridden), or with `session: true` through the app's own
   * login flow (its session cookie, as a browser).
   */
  loginAs(email: string, options?: FiefLoginAsOptions): Promise<FiefTestAgent>;
  /** Closes the app, restores `process.env`, and stops the dev server if it was created here. */
  close(): Promise<void>;
}

const ENV = ['FIEF_BASE_URL', 'FIEF_CLIENT_ID', 'FIEF_CLIENT_SECRET'] as const;

/**
 * Builds and starts the app against a Fief dev server and gives agents logged in as its users, for
 * e2e tests under any runner (Jest, Vitest, `node:test`): no test runner's globals are used.
 *
 * @example
 * const t = await createFiefTestingApp({ imports: [AppModule] });
 * const anne = await t.loginAs('anne@bretagne.duchy');
 * await anne.get('/castles').expect(200);
 * await t.close();
 */
export async function createFiefTestingApp(options: FiefTestingAppOptions): Promise<FiefTestingApp> {
  if (!options.imports === !options.createApp) throw new Error('createFiefTestingApp: give either imports or createApp');
  const owned = !(options.devServer instanceof FiefDevServer);
  const fief = options.devServer instanceof FiefDevServer ? options.devServer : new FiefDevServer(options.devServer);
  const saved = new Map(ENV.map((name) => [name, process.env[name]]));
  let app: INestApplication | undefined;
  const restoreEnv = () => {
    if (options.env === false) return;
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  try {
    await fief.start();
    const tenant = fief.tenant(options.tenant);
    const client = tenant.clients[0];
    const settings: FiefTestingSettings = { baseURL: tenant.baseURL, clientId: client.clientId, clientSecret: client.clientSecret ?? '', fief };
    if (options.env !== false) {
      Object.assign(process.env, { FIEF_BASE_URL: settings.baseURL, FIEF_CLIENT_ID: settings.clientId, FIEF_CLIENT_SECRET: settings.clientSecret });
    }
    app = options.createApp ? await options.createApp(settings) : await createNestApp(options, settings);
    await options.configure?.(app);
    await app.listen(0, '127.0.0.1');
    const address = (app.getHttpServer() as { address(): AddressInfo }).address();
    const url = `http://127.0.0.1:${address.port}`;
    const running = app;
    return {
      app: running,
      url,
      fief,
      tenant,
      agent: () => new FiefTestAgent(url),
      async loginAs(email, { session, ...tokenOptions } = {}) {
        if (!tenant.findUser(email)) throw new Error(`createFiefTestingApp: the dev server has no user ${email}`);
        if (session) {
          const { cookies } = await finishAppLogin(url, tenant, {
            email,
            loginPath: options.loginPath,
            sessionCookieName: options.sessionCookieName,
          });
          return new FiefTestAgent(url, { cookies });
        }
        return new FiefTestAgent(url, { token: await tenant.issueAccessToken({ acr: '1', ...tokenOptions, user: email }) });
      },
      async close() {
        try {
          await running.close();
        } finally {
          restoreEnv();
          if (owned) await fief.stop();
        }
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    restoreEnv();
    if (owned) await fief.stop();
    throw error;
  }
}

/** Loaded lazily: `nestjs-fief/testing` is imported by scripts that never build an app. */
async function createNestApp(options: FiefTestingAppOptions, settings: FiefTestingSettings): Promise<INestApplication> {
  const [{ Module }, { NestFactory }] = await Promise.all([import('@nestjs/common'), import('@nestjs/core')]);
  const imports = typeof options.imports === 'function' ? await options.imports(settings) : options.imports!;
  class FiefTestingRootModule {}
  Module({})(FiefTestingRootModule);
  const root: DynamicModule = { module: FiefTestingRootModule, imports };
  // abortOnError false: Nest would otherwise end the test process on a start-up error instead of rejecting.
  const nestOptions = { logger: ['error', 'warn'] as const, abortOnError: false, ...options.nestOptions } as NestApplicationOptions;
  if (options.adapter === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify').catch((cause: unknown) => {
      throw new Error("createFiefTestingApp: adapter 'fastify' needs @nestjs/platform-fastify", { cause });
    });
    return NestFactory.create(root, new FastifyAdapter(), nestOptions);
  }
  return NestFactory.create(root, nestOptions);
}

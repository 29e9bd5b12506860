/**
 * A login flow without a client secret is a start-up error unless the app says the Fief client is
 * public; a public client logs in with PKCE alone; a callback Fief refuses as `invalid_client` is
 * logged at WARN with the hint to check clientSecret.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FiefModule } from '../../lib/fief.module.js';
import { FiefLoginModule } from '../../lib/login/fief-login.module.js';
import { FiefService } from '../../lib/fief.service.js';
import { FiefDevServer } from '../../lib/testing/fief-dev-server.js';
import { cookieHeader, jar } from './login-test-helpers.js';

const REDIRECT_URI = 'https://app.example/auth/callback';
const CONFIDENTIAL = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };
const PUBLIC_ID = 'public-spa-client';
const login = { redirectUri: REDIRECT_URI, cookieSecret: 'client-kind-cookie-secret-0123456789abcdef' };

/** Keeps what is logged at each level, as the app's logger would print it. */
class RecordingLogger extends ConsoleLogger {
  readonly lines: Array<{ level: string; message: string }> = [];
  override warn(message: unknown) {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  override debug(message: unknown) {
    this.lines.push({ level: 'debug', message: String(message) });
  }
  override error(message: unknown) {
    this.lines.push({ level: 'error', message: String(message) });
  }
  override log() {}
  override verbose() {}
}

describe.each(['express', 'fastify'] as const)('login client kind on %s', (adapter) => {
  let dev: FiefDevServer;
  const apps: INestApplication[] = [];

  async function createApp(imports: ModuleMetadata['imports'], logger: RecordingLogger | false = false) {
    const moduleRef = await Test.createTestingModule({ imports }).compile();
    const app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger });
    apps.push(app);
    await app.init();
    if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
    return app;
  }

  beforeAll(async () => {
    dev = new FiefDevServer({
      clients: [
        { ...CONFIDENTIAL, redirectUris: [REDIRECT_URI] },
        { clientId: PUBLIC_ID, redirectUris: [REDIRECT_URI] },
      ],
    });
    await dev.start();
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await dev.stop();
  });

  it('refuses at start-up a login flow whose client has no secret, naming the fix', async () => {
    const attempts = [
      () => createApp([FiefModule.forRoot({ baseURL: dev.baseURL, clientId: PUBLIC_ID, login })]),
      () => createApp([FiefModule.forRootAsync({ useFactory: () => ({ baseURL: dev.baseURL, clientId: PUBLIC_ID, login }) })]),
    ];
    for (const attempt of attempts) {
      await expect(attempt()).rejects.toThrow(/no clientSecret.*login\.publicClient: true/);
    }
    expect(() =>
      FiefLoginModule.forRoot({ client: { options: { clientId: PUBLIC_ID } } as unknown as FiefService, ...login }),
    ).toThrow(/no clientSecret/);
  });

  it('refuses publicClient: true beside a secret, and a non-boolean publicClient', async () => {
    await expect(createApp([FiefModule.forRoot({ baseURL: dev.baseURL, ...CONFIDENTIAL, login: { ...login, publicClient: true } })])).rejects.toThrow(
      /publicClient is true but a clientSecret is set/,
    );
    await expect(
      createApp([FiefModule.forRoot({ baseURL: dev.baseURL, ...CONFIDENTIAL, login: { ...login, publicClient: 'yes' as unknown as boolean } })]),
    ).rejects.toThrow(/publicClient must be a boolean/);
  });

  it('logs in with a public client (PKCE alone) when the app says so', async () => {
    const app = await createApp([FiefModule.forRoot({ baseURL: dev.baseURL, clientId: PUBLIC_ID, login: { ...login, publicClient: true } })]);
    const server = app.getHttpServer();
    const start = await request(server).get('/auth/login');
    expect(start.status).toBe(302);
    const back = new URL((await dev.login(start.headers.location, { email: 'anne@bretagne.duchy' })).url);
    const callback = await request(server).get(`/auth/callback${back.search}`).set('Cookie', cookieHeader(jar(start)));
    expect(callback.status).toBe(302);
    const me = await request(server).get('/auth/me').set('Cookie', cookieHeader(jar(callback)));
    expect([me.status, me.body.email]).toEqual([200, 'anne@bretagne.duchy']);
  });

  it('logs a callback refused as invalid_client at WARN, with the hint to check clientSecret', async () => {
    const logger = new RecordingLogger();
    const client = new FiefClient({ baseURL: dev.baseURL, clientId: CONFIDENTIAL.clientId, clientSecret: 'not-the-secret' });
    const app = await createApp([FiefLoginModule.forRoot({ client, ...login })], logger);
    const server = app.getHttpServer();
    const start = await request(server).get('/auth/login');
    const back = new URL((await dev.login(start.headers.location, { email: 'anne@bretagne.duchy' })).url);
    const callback = await request(server).get(`/auth/callback${back.search}`).set('Cookie', cookieHeader(jar(start)));
    expect(callback.status).toBe(400);
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toEqual([{ level: 'warn', message: expect.stringMatching(/invalid_client.*check clientSecret/) }]);
  });
});

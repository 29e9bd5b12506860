import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Permissions } from '../../lib/auth/fief-auth.decorators.js';
import { FiefModule } from '../../lib/fief.module.js';
import { LoginRedirect } from '../../lib/login/login-redirect.decorator.js';
import { FiefSessionService } from '../../lib/login/session.service.js';
import { FiefDevServer } from '../../lib/testing/fief-dev-server.js';
import { ANNE, GUEST, cookieHeader, logIn } from './login-test-helpers.js';

const REDIRECT_URI = 'https://app.example/auth/callback';
const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };
const login = { redirectUri: REDIRECT_URI, cookieSecret: 'module-cookie-secret-module-cookie-secret' };

@Controller()
class CastlesController {
  @Get('castles/new')
  @Permissions('castles:create')
  @LoginRedirect()
  create() {
    return 'new castle form';
  }
}

/** FiefModule's `login` option: the auth controller and the session cookie wired in by the module itself. */
describe.each(['express', 'fastify'] as const)('FiefModule with login on %s', (adapter) => {
  let dev: FiefDevServer;
  const apps: INestApplication[] = [];

  async function createApp(imports: ModuleMetadata['imports']) {
    const moduleRef = await Test.createTestingModule({ imports, controllers: [CastlesController] }).compile();
    const app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    await app.init();
    if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    await dev.start();
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await dev.stop();
  });

  it('forRoot: mounts /auth, and the global guard accepts the session cookie', async () => {
    const app = await createApp([FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, login, globalGuard: true })]);
    const server = app.getHttpServer();
    const anne = (await logIn(server, dev)).cookies;
    expect((await request(server).get('/castles/new').set('Cookie', cookieHeader(anne))).status).toBe(200);
    expect((await request(server).get('/auth/me').set('Cookie', cookieHeader(anne))).body.email).toBe(ANNE);
    const guest = (await logIn(server, dev, { email: GUEST })).cookies;
    expect((await request(server).get('/castles/new').set('Cookie', cookieHeader(guest))).status).toBe(403);
    const page = await request(server).get('/castles/new').set('Accept', 'text/html');
    expect([page.status, page.headers.location]).toEqual([302, '/auth/login?returnTo=%2Fcastles%2Fnew']);
  });

  it('forRootAsync: the controller where authController says, options from the factory', async () => {
    const app = await createApp([
      FiefModule.forRootAsync({
        authController: 'auth',
        globalGuard: true,
        useFactory: async () => ({ baseURL: dev.baseURL, ...CLIENT, login }),
      }),
    ]);
    const anne = (await logIn(app.getHttpServer(), dev)).cookies;
    expect((await request(app.getHttpServer()).get('/castles/new').set('Cookie', cookieHeader(anne))).status).toBe(200);
  });

  it('without login: no auth routes, no session read, bearer tokens as before', async () => {
    const app = await createApp([FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, globalGuard: true })]);
    expect(app.get(FiefSessionService).enabled).toBe(false);
    expect((await request(app.getHttpServer()).get('/auth/login')).status).toBe(404);
    const token = await dev.issueAccessToken({ user: ANNE });
    expect((await request(app.getHttpServer()).get('/castles/new').set('Authorization', `Bearer ${token}`)).status).toBe(200);
  });

  it('with the controller turned off: no auth routes, the session cookie still works', async () => {
    const on = await createApp([FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, login })]);
    const anne = (await logIn(on.getHttpServer(), dev)).cookies;
    const off = await createApp([FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, login, authController: false, globalGuard: true })]);
    expect((await request(off.getHttpServer()).get('/auth/login')).status).toBe(404);
    expect((await request(off.getHttpServer()).get('/castles/new').set('Cookie', cookieHeader(anne))).status).toBe(200);
  });
});

/**
 * Issue 10 §6: forRootAsync mounts the auth controller as forRoot does, and one setting names the
 * login prefix, which @LoginRedirect() follows.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { CurrentUser, FiefModule, LoginRedirect, type FiefUserInfo } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, createApp } from '../e2e/fixtures.js';
import { logIn } from '../login/login-test-helpers.js';

const SECRET = 'prefix-cookie-secret-prefix-cookie-secret-01';
const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };

@Controller('castles')
class PagesController {
  @Get()
  @LoginRedirect()
  page(@CurrentUser() user: FiefUserInfo) {
    return user.email;
  }
}

describe.each(ADAPTERS)('the login prefix on %s', (adapter) => {
  let dev: FiefDevServer;
  const apps: INestApplication[] = [];
  const start = async (module: ReturnType<typeof FiefModule.forRoot>) => {
    const app = await createApp(adapter, { imports: [module], controllers: [PagesController] });
    apps.push(app);
    return app.getHttpServer();
  };
  const login = (prefix: string) => ({ redirectUri: `http://localhost/${prefix}/callback`, cookieSecret: SECRET, secureCookies: false });

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: ['http://localhost/auth/callback', 'http://localhost/account/callback'] }] });
    await dev.start();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await dev?.stop();
  });

  it('forRootAsync with login mounts the auth controller at /auth without being told', async () => {
    const server = await start(FiefModule.forRootAsync({ globalGuard: true, useFactory: async () => ({ baseURL: dev.baseURL, ...CLIENT, login: login('auth') }) }));
    const { callback } = await logIn(server, dev, { returnTo: '/castles' });
    expect([callback.status, callback.headers.location]).toEqual([302, '/castles']);
  });

  it('forRootAsync without login in the factory: the mounted routes answer 404, the app boots', async () => {
    const server = await start(FiefModule.forRootAsync({ useFactory: async () => ({ baseURL: dev.baseURL, ...CLIENT }) }));
    for (const route of ['login', 'callback', 'logout', 'me']) expect((await request(server).get(`/auth/${route}`)).status).toBe(404);
  });

  it.each([
    ['forRoot', () => FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, globalGuard: true, authController: 'account', login: login('account') })],
    [
      'forRootAsync',
      () =>
        FiefModule.forRootAsync({
          globalGuard: true,
          authController: 'account',
          useFactory: async () => ({ baseURL: dev.baseURL, ...CLIENT, login: login('account') }),
        }),
    ],
  ])('%s with authController: "account": routes there, and @LoginRedirect() sends browsers there', async (_name, module) => {
    const server = await start(module());
    const page = await request(server).get('/castles').set('Accept', 'text/html');
    expect([page.status, page.headers.location]).toEqual([302, '/account/login?returnTo=%2Fcastles']);
    expect((await request(server).get('/auth/login')).status).toBe(404);
    const { callback } = await logIn(server, dev, { returnTo: '/castles', loginPath: '/account/login' });
    expect([callback.status, callback.headers.location]).toEqual([302, '/castles']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FIEF_PUBLIC_KEY } from '../../lib/fief.constants.js';
import type { FiefLoginOptions } from '../../lib/login/login-options.interface.js';
import { createFiefLoginModuleParts } from '../../lib/login/login-module-parts.js';
import { FiefSessionService } from '../../lib/login/session.service.js';
import { FiefDevServer } from '../../lib/testing/fief-dev-server.js';

const HOST_OPTIONS = Symbol('HOST_OPTIONS');
const HOST_CLIENT = Symbol('HOST_CLIENT');

/** A host module the way FiefModule carries the flow: options from an async factory, the client by token. */
async function hostApp(dev: FiefDevServer, login: FiefLoginOptions | undefined, controllerPath: string | false) {
  const parts = createFiefLoginModuleParts({ optionsToken: HOST_OPTIONS, clientToken: HOST_CLIENT, controllerPath });
  @Module({
    controllers: parts.controllers,
    providers: [
      { provide: HOST_OPTIONS, useFactory: async () => ({ login }) },
      { provide: HOST_CLIENT, useFactory: () => new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' }) },
      ...parts.providers,
    ],
    exports: parts.exports,
  })
  class HostModule {}
  const moduleRef = await Test.createTestingModule({ imports: [HostModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('createFiefLoginModuleParts', () => {
  let dev: FiefDevServer;
  const apps: INestApplication[] = [];
  const login: FiefLoginOptions = { redirectUri: 'http://127.0.0.1:3000/auth/callback', cookieSecret: 'parts-secret-parts-secret-parts-secret' };

  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await dev.stop();
  });

  it('mounts the controller with options from an async factory, marked public for a global guard', async () => {
    const app = await hostApp(dev, { ...login, path: 'account' }, 'account');
    apps.push(app);
    const res = await request(app.getHttpServer()).get('/account/login');
    expect(res.status).toBe(302);
    expect(new URL(res.headers.location).searchParams.get('redirect_uri')).toBe(login.redirectUri);
    const controller = createFiefLoginModuleParts({ optionsToken: HOST_OPTIONS, clientToken: HOST_CLIENT, controllerPath: 'x' }).controllers[0];
    expect(Reflect.getMetadata(FIEF_PUBLIC_KEY, controller)).toBe(true);
  });

  it('leaves the flow off without login options: no session is read, none can be written', async () => {
    const app = await hostApp(dev, undefined, false);
    apps.push(app);
    const sessions = app.get(FiefSessionService);
    expect(sessions.enabled).toBe(false);
    const request = { headers: { cookie: 'fief_session=anything' } };
    await expect(sessions.authenticate(request)).resolves.toBeUndefined();
    expect(sessions.hasCookie(request)).toBe(false);
    await expect(sessions.write({}, { accessToken: 'a', accessTokenExpiresAt: 1, expiresAt: 2 })).rejects.toThrow(
      'The login flow is not configured: give the `login` options (redirectUri, cookieSecret).',
    );
  });

  it('refuses to start with the controller mounted but no login options', async () => {
    await expect(hostApp(dev, undefined, 'auth')).rejects.toThrow(
      'The auth controller is mounted at /auth but the login flow is not configured',
    );
  });

  it('refuses to start with bad login options, naming the option', async () => {
    await expect(hostApp(dev, { ...login, cookieSecret: 'short' }, 'auth')).rejects.toThrow('login.cookieSecret is 5 bytes');
  });
});

/**
 * An app without `@opentelemetry/api` installed (its `require` fails as it would): every path works
 * as before and telemetry hands results on untouched.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';

const asked: string[] = [];
const actual = await import('node:module');
jest.unstable_mockModule('node:module', () => ({
  ...actual,
  default: actual.default,
  createRequire: (from: string | URL) => {
    const real = actual.createRequire(from);
    return Object.assign((id: string) => {
      if (id === '@opentelemetry/api') {
        asked.push(id);
        throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
      }
      return real(id);
    }, real);
  },
}));

const telemetry = await import('../../lib/telemetry/index.js');
const { FiefModule } = await import('../../lib/index.js');
const { FiefDevServer } = await import('../../lib/testing/index.js');
const { ANNE, CLIENT, createApp, tamper, TelemetryController } = await import('./fixtures.js');

describe('without @opentelemetry/api', () => {
  let dev: InstanceType<typeof FiefDevServer>;
  let app: INestApplication;

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    app = await createApp('express', { imports: [FiefModule.forRoot({ baseURL, ...CLIENT })], controllers: [TelemetryController] });
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  it('verifies, caches, refuses and calls Fief as usual; the API was looked for once', async () => {
    const anne = await dev.issueAccessToken({ user: ANNE });
    const get = (path: string, token: string) => request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);
    expect((await get('/t/plain', anne)).status).toBe(200);
    expect((await get('/t/plain', anne)).status).toBe(200);
    expect((await get('/t/me', anne)).body).toEqual({ email: ANNE });
    expect((await get('/t/plain', tamper(anne))).status).toBe(401);
    dev.setFault('userinfo', 'down');
    const fresh = await dev.issueAccessToken({ user: ANNE, claims: { jti: 'fresh' } });
    expect((await get('/t/me', fresh)).status).toBe(503);
    expect(asked).toEqual(['@opentelemetry/api']);
  });

  it('hands the verification promise on as it is, and runs traced calls untouched', async () => {
    const verification = Promise.resolve('info');
    expect(telemetry.observeVerification(verification)).toBe(verification);
    const record = await telemetry.traceFiefCall({ what: 'discovery', method: 'GET', url: 'http://127.0.0.1:1/x' }, async (r) => {
      r.status = 200;
      return 'answer';
    });
    expect(record).toBe('answer');
    await expect(
      telemetry.traceFiefCall({ what: 'JWKS', method: 'GET', url: 'not a url' }, () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    expect(() => telemetry.recordRefusal(401, 'invalid_token')).not.toThrow();
  });
});

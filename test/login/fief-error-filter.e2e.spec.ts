/**
 * The app's own handlers that call FiefService answer like the guard does, thanks to the
 * FiefErrorFilter FiefModule registers: 503 + Retry-After when Fief is down, Fief's 4xx when it
 * refuses, 401 invalid_token for a token Fief rejects; never Nest's 500. Tested on the sample's
 * MeController, which is the README's FiefService example verbatim (test/readme checks that).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Headers, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  answerFiefError,
  FiefAccessTokenExpired,
  FiefAccessTokenMissingPermission,
  FiefError,
  FiefModule,
  FiefRequestError,
  FiefService,
  FiefUnavailableError,
  Public,
} from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { createAppModule } from '../../sample/app.module.js';
import { ANNE } from './login-test-helpers.js';

@Controller('raw')
class RawFiefController {
  constructor(private readonly fief: FiefService) {}

  @Get('userinfo')
  @Public()
  userinfo(@Headers('x-token') token: string) {
    return this.fief.userinfo(token);
  }

  @Get('bug')
  @Public()
  bug() {
    throw new FiefError('a FiefError that says nothing about Fief or the caller');
  }
}

describe.each(['express', 'fastify'] as const)('FiefErrorFilter on %s', (adapter) => {
  let dev: FiefDevServer;
  const apps: INestApplication[] = [];

  async function createApp(metadata: ModuleMetadata) {
    const moduleRef = await Test.createTestingModule(metadata).compile();
    const app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    apps.push(app);
    await app.init();
    if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
    return app.getHttpServer();
  }

  const sample = () =>
    createApp({
      imports: [createAppModule({ FIEF_BASE_URL: dev.baseURL, FIEF_CLIENT_ID: 'fief-dev-client', FIEF_CLIENT_SECRET: 'fief-dev-secret' })],
    });

  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
  });
  afterAll(async () => {
    dev.setFault('all', null);
    await Promise.all(apps.map((app) => app.close()));
    await dev.stop();
  });

  it("the README's PATCH /me: 200, then 503 + Retry-After while Fief is down, 200 again once it is back", async () => {
    const server = await sample();
    const token = await dev.issueAccessToken({ user: ANNE });
    const patch = () => request(server).patch('/me').set('Authorization', `Bearer ${token}`).send({ fields: { first_name: 'Anne' } });
    expect((await patch()).status).toBe(200);
    for (const fault of ['down', '500', 'html'] as const) {
      dev.setFault('profile', fault);
      const res = await patch();
      expect([fault, res.status, res.headers['retry-after']]).toEqual([fault, 503, '10']);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(/Fief/) });
    }
    dev.setFault('profile', null);
    expect((await patch()).status).toBe(200);
  });

  it("the README's PATCH /me/password: Fief's 400 is the caller's 400, with Fief's detail", async () => {
    const server = await sample();
    const token = await dev.issueAccessToken({ user: ANNE, acr: '1' });
    const res = await request(server).patch('/me/password').set('Authorization', `Bearer ${token}`).send({ password: 'short' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Fief refused the request: PASSWORD_INVALID', code: 'FIEF_REQUEST_ERROR' });
    const ok = await request(server).patch('/me/password').set('Authorization', `Bearer ${token}`).send({ password: 'long enough now' });
    expect(ok.status).toBe(200);
  });

  it('a token Fief rejects is 401 invalid_token with a challenge; a stray FiefError is 503, not 500', async () => {
    const server = await createApp({ imports: [FiefModule.forRoot({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' })], controllers: [RawFiefController] });
    const refused = await request(server).get('/raw/userinfo').set('x-token', 'not-a-token');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer realm="fief", error="invalid_token"/);
    const bug = await request(server).get('/raw/bug');
    expect([bug.status, bug.headers['retry-after']]).toEqual([503, '10']);
  });

  it('errorFilter: false leaves FiefErrors to the app (Nest answers 500)', async () => {
    const server = await createApp({
      imports: [FiefModule.forRoot({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret', errorFilter: false })],
      controllers: [RawFiefController],
    });
    expect((await request(server).get('/raw/userinfo').set('x-token', 'not-a-token')).status).toBe(500);
  });
});

describe('answerFiefError', () => {
  it.each<[string, FiefError, number, Record<string, string>]>([
    ['Fief down', new FiefUnavailableError('Fief is unreachable'), 503, { 'Retry-After': '7' }],
    ['Fief rate-limiting the app', new FiefRequestError(429, '{"detail":"slow down"}'), 503, { 'Retry-After': '7' }],
    ['Fief 400', new FiefRequestError(400, '{"detail":"PASSWORD_INVALID"}'), 400, {}],
    ['Fief 403', new FiefRequestError(403, '{"detail":"ACR too low"}'), 403, {}],
    ['Fief 404', new FiefRequestError(404, '{"detail":"Not Found"}'), 404, {}],
    ['Fief 422', new FiefRequestError(422, '{"detail":[{"loc":["body","email"],"msg":"bad"}]}'), 422, {}],
    ['Fief 405: our bug', new FiefRequestError(405, '{"detail":"Method Not Allowed"}'), 502, {}],
    ['Fief 401', new FiefRequestError(401, '{"detail":"Unauthorized"}'), 401, { 'WWW-Authenticate': 'Bearer realm="castles", error="invalid_token", error_description="Fief refused the access token."' }],
    ['an expired token', new FiefAccessTokenExpired('The access token has expired'), 401, { 'WWW-Authenticate': expect.stringContaining('error="invalid_token"') as unknown as string }],
    ['a missing permission', new FiefAccessTokenMissingPermission(['castles:delete']), 403, { 'WWW-Authenticate': expect.stringContaining('error="insufficient_scope"') as unknown as string }],
  ])('%s', (_label, error, status, headers) => {
    const answer = answerFiefError(error, 'castles', 7);
    expect(answer.status).toBe(status);
    expect(answer.body.statusCode).toBe(status);
    expect(Object.fromEntries(answer.headers)).toEqual(headers);
    expect(answer.body.message).toMatch(/^[\x20-\x7e]+$/);
  });

  it("keeps Fief's detail printable and short", () => {
    const answer = answerFiefError(new FiefRequestError(400, JSON.stringify({ detail: `\r\nX-Evil: 1${'a'.repeat(1000)}` })));
    expect(answer.body.message).not.toMatch(/[\r\n]/);
    expect(answer.body.message.length).toBeLessThan(400);
  });
});

/**
 * The sample's pages refuse browsers with pages a person can use: a 403 or a 503 page load
 * (`Accept: text/html`, not JSON) gets a small HTML page with a way back and keeps its status and
 * headers; API clients keep Nest's JSON. And the sample has a page anne may open and guest may not.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefDevServer } from '../../lib/testing/index.js';
import { createAppModule } from '../../sample/app.module.js';
import { ANNE, GUEST } from './login-test-helpers.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe.each(['express', 'fastify'] as const)('refused pages of the sample on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: Parameters<typeof request>[0];
  let anne: string;
  let guest: string;

  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [createAppModule({ FIEF_BASE_URL: dev.baseURL, FIEF_CLIENT_ID: 'fief-dev-client', FIEF_CLIENT_SECRET: 'fief-dev-secret' })],
    }).compile();
    app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    await app.init();
    if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
    server = app.getHttpServer();
    anne = await dev.issueAccessToken({ user: ANNE });
    guest = await dev.issueAccessToken({ user: GUEST });
  });
  afterAll(async () => {
    dev.setFault('all', null);
    await app?.close();
    await dev?.stop();
  });

  const load = (path: string, token: string, accept = BROWSER_ACCEPT) =>
    request(server).get(path).set('Authorization', `Bearer ${token}`).set('Accept', accept);

  it('anne may open the build page; guest gets a 403 page with a way back', async () => {
    const allowed = await load('/pages/castles/build', anne);
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('anne@bretagne.duchy may build castles here.');

    const refused = await load('/pages/castles/build', guest);
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(refused.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(refused.text).toContain('<h1>You may not open this page</h1>');
    expect(refused.text).toContain('<a id="home" href="/">Home</a>');
    expect(refused.text).toContain('href="/auth/login?returnTo=%2Fpages%2Fcastles%2Fbuild"');
  });

  it('API clients keep the JSON answer', async () => {
    for (const accept of ['application/json', '*/*', 'text/html, application/json']) {
      const res = await load('/pages/castles/build', guest, accept);
      expect([accept, res.status, res.headers['content-type']]).toEqual([accept, 403, expect.stringMatching(/^application\/json/)]);
      expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    }
  });

  it('Fief down: a 503 page with Retry-After and a link to try again', async () => {
    // A token under a key the app has not seen yet, while Fief's JWKS cannot be fetched.
    await dev.rotateSigningKey();
    dev.setFault('jwks', 'down');
    try {
      const res = await load('/pages/castles/build', await dev.issueAccessToken({ user: ANNE }));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('10');
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('<a id="retry" href="/pages/castles/build">Try again</a>');
    } finally {
      dev.setFault('jwks', null);
    }
  });

  it('escapes what it echoes: the page path', async () => {
    const res = await load('/pages/castles/build?x="><script>alert(1)</script>', guest);
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('<script>');
  });
});

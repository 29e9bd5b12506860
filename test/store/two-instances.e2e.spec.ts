/**
 * The four promises that only hold across instances when they share a FiefStore, each checked with
 * two app instances (one Express, one Fastify) sharing one real redis-server, and what happens when
 * that Redis goes away.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { CurrentUser, FiefModule, Permissions, RedisFiefStore, type FiefUserInfo } from '../../lib/index.js';
import { CookieSealer } from '../../lib/login/cookie-sealer.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ANNE, cookieHeader, jar, logIn } from '../login/login-test-helpers.js';
import { delivery, FiefEventsController, post, SECRET as WEBHOOK_SECRET, userData } from '../webhooks/webhook-fixtures.js';
import { connected, disconnectAll, startRedis, type TestRedis } from './redis-server.js';

const COOKIE_SECRET = 'two-instances-cookie-secret-0123456789abcdef';
const REDIRECT_URI = 'https://app.example/auth/callback';
const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };
const now = () => Math.floor(Date.now() / 1000);

@Controller()
class CastlesController {
  @Get('api/castles')
  @Permissions('castles:read')
  list() {
    return [{ name: 'Château des ducs de Bretagne' }];
  }

  @Get('me')
  me(@CurrentUser() user: FiefUserInfo) {
    return { email: user.email };
  }
}

/** One instance of the app: its own ioredis client, the same Redis, the same secrets. */
async function createInstance(adapter: 'express' | 'fastify', dev: FiefDevServer, redis: Redis, timeout = 5000): Promise<INestApplication> {
  @Module({
    imports: [
      FiefModule.forRoot({
        baseURL: dev.baseURL,
        ...CLIENT,
        globalGuard: true,
        login: { redirectUri: REDIRECT_URI, cookieSecret: COOKIE_SECRET },
        webhooks: { secret: WEBHOOK_SECRET },
        store: new RedisFiefStore(redis, { prefix: 'castles:', timeout }),
      }),
    ],
    controllers: [CastlesController, FiefEventsController],
  })
  class InstanceModule {}
  const moduleRef = await Test.createTestingModule({ imports: [InstanceModule] }).compile();
  const app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
    rawBody: true,
    logger: false,
  });
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** A session cookie whose access token has expired, from a real login's tokens. */
async function expiredSession(cookies: Record<string, string>): Promise<string> {
  const sealer = new CookieSealer(COOKIE_SECRET, 'session');
  const { at, rt, exp } = (await sealer.unseal(cookies.fief_session)) as Record<string, unknown>;
  expect(typeof rt).toBe('string');
  return `fief_session=${await sealer.seal({ at, ate: now() - 10, rt }, exp as number)}`;
}

describe('two instances sharing one redis-server', () => {
  let redis: TestRedis;
  let clients: Redis[];
  let dev: FiefDevServer;
  let a: INestApplication; // Express
  let b: INestApplication; // Fastify

  beforeAll(async () => {
    redis = await startRedis();
    clients = [await connected(redis.client()), await connected(redis.client())];
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    await dev.start();
    a = await createInstance('express', dev, clients[0]);
    b = await createInstance('fastify', dev, clients[1]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await dev?.stop();
    disconnectAll(...(clients ?? []));
    await redis?.stop();
  });
  beforeEach(() => {
    dev.resetRequestCounts();
    FiefEventsController.received = [];
  });

  it('a login callback replayed on the other instance is refused, with no token request', async () => {
    const login = await logIn(a.getHttpServer(), dev);
    expect(login.callback.status).toBe(302);
    expect(dev.requestCounts.token).toBe(1);
    const replay = await request(b.getHttpServer())
      .get(`${login.callbackUrl.pathname}${login.callbackUrl.search}`)
      .set('Cookie', cookieHeader(jar(login.start)));
    expect(replay.status).toBe(400);
    expect(replay.body.message).toMatch(/already completed/);
    expect(dev.requestCounts.token).toBe(1);
  });

  it('one callback sent to both instances at once completes once: one token request', async () => {
    const start = await request(a.getHttpServer()).get('/auth/login');
    const fief = await dev.login(start.headers.location, { email: ANNE });
    const url = new URL(fief.url);
    const cookie = cookieHeader(jar(start));
    dev.resetRequestCounts();
    const answers = await Promise.all(
      [a, b, a, b].map((app) => request(app.getHttpServer()).get(`${url.pathname}${url.search}`).set('Cookie', cookie)),
    );
    expect(answers.map((res) => res.status).sort()).toEqual([302, 400, 400, 400]);
    expect(dev.requestCounts.token).toBe(1);
  });

  it('user info fetched on one instance is reused on the other', async () => {
    const token = await dev.issueAccessToken({ user: ANNE });
    const first = await request(a.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);
    expect(first.status).toBe(200);
    expect(dev.requestCounts.userinfo).toBe(1);
    const second = await request(b.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(dev.requestCounts.userinfo).toBe(1);
  });

  it('an expired session presented to both instances at once is refreshed once', async () => {
    const expired = await expiredSession((await logIn(a.getHttpServer(), dev)).cookies);
    dev.resetRequestCounts();
    const answers = await Promise.all(
      [a, b, a, b, b, a].map((app) => request(app.getHttpServer()).get('/api/castles').set('Cookie', expired)),
    );
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(dev.requestCounts.token).toBe(1);
    // Every instance hands out the same renewed session (one rotation, one new refresh token).
    const sealer = new CookieSealer(COOKIE_SECRET, 'session');
    const renewed = await Promise.all(answers.map(async (res) => (await sealer.unseal(jar(res).fief_session))?.rt));
    expect(new Set(renewed).size).toBe(1);
    expect(renewed[0]).toEqual(expect.any(String));
  });

  it('a webhook delivery replayed to the other instance does not run twice', async () => {
    const sent = delivery({ type: 'user.updated', data: userData() });
    expect((await post(a, sent)).status).toBe(200);
    expect((await post(b, sent)).status).toBe(409);
    const burst = delivery({ type: 'user.deleted', data: userData() });
    const statuses = await Promise.all([a, b, a, b].map((app) => post(app, burst).then((res) => res.status)));
    expect(statuses.sort()).toEqual([200, 409, 409, 409]);
    expect(FiefEventsController.received.map((event) => event.type)).toEqual(['user.updated', 'user.deleted']);
  });

  it('no token is stored in clear: keys are hashes, a shared session is sealed for the store only (never a usable cookie)', async () => {
    const keys = await clients[0].keys('castles:*');
    expect(keys.some((key) => key.startsWith('castles:session:refresh:'))).toBe(true);
    for (const key of keys) expect(key).toMatch(/^castles:(login:state|session:refresh|webhook|fief:userinfo):[\w.:-]+$/);
    const values = await Promise.all(keys.map((key) => clients[0].get(key)));
    const session = new CookieSealer(COOKIE_SECRET, 'session');
    for (const value of values) {
      expect(value).not.toMatch(/eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+/); // no signed token (access, refresh or ID) in clear
      if (value?.split('.').length === 5) expect(await session.unseal(value)).toBeUndefined(); // not usable as a session cookie
    }
  });
});

describe('two instances when the shared Redis is down', () => {
  let redis: TestRedis;
  let clients: Redis[];
  let dev: FiefDevServer;
  let a: INestApplication;
  let b: INestApplication;

  beforeAll(async () => {
    redis = await startRedis();
    clients = [await connected(redis.client()), await connected(redis.client())];
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    await dev.start();
    a = await createInstance('express', dev, clients[0], 300);
    b = await createInstance('fastify', dev, clients[1], 300);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await dev?.stop();
    disconnectAll(...(clients ?? []));
    await redis?.stop();
  });
  beforeEach(() => {
    dev.resetRequestCounts();
    FiefEventsController.received = [];
  });

  it('while Redis hangs, the login callback answers 503 within the store timeout, without exchanging the code', async () => {
    const start = await request(a.getHttpServer()).get('/auth/login');
    const fief = await dev.login(start.headers.location, { email: ANNE });
    const url = new URL(fief.url);
    dev.resetRequestCounts();
    redis.process.kill('SIGSTOP');
    try {
      const callback = await request(b.getHttpServer()).get(`${url.pathname}${url.search}`).set('Cookie', cookieHeader(jar(start)));
      expect(callback.status).toBe(503);
      expect(dev.requestCounts.token).toBe(0);
    } finally {
      redis.process.kill('SIGCONT');
    }
  });

  describe('once redis-server is stopped', () => {
    let sessionCookies: Record<string, string>;
    let pendingLogin: { url: URL; cookie: string };

    beforeAll(async () => {
      sessionCookies = (await logIn(a.getHttpServer(), dev)).cookies;
      const start = await request(a.getHttpServer()).get('/auth/login');
      const fief = await dev.login(start.headers.location, { email: ANNE });
      pendingLogin = { url: new URL(fief.url), cookie: cookieHeader(jar(start)) };
      await redis.stop();
    });

    it('the login callback answers 503 (fail closed, never a pass, never a 500), keeps the transaction cookie, requests no token', async () => {
      for (const app of [a, b]) {
        const callback = await request(app.getHttpServer())
          .get(`${pendingLogin.url.pathname}${pendingLogin.url.search}`)
          .set('Cookie', pendingLogin.cookie);
        expect(callback.status).toBe(503);
        expect(callback.headers['set-cookie']).toBeUndefined();
      }
      expect(dev.requestCounts.token).toBe(0);
    });

    it('bearer routes keep working on both instances', async () => {
      const token = await dev.issueAccessToken({ user: ANNE });
      for (const app of [a, b]) {
        expect((await request(app.getHttpServer()).get('/api/castles').set('Authorization', `Bearer ${token}`)).status).toBe(200);
      }
    });

    it('user info falls back to each instance’s local cache', async () => {
      const token = await dev.issueAccessToken({ user: ANNE });
      for (const app of [a, a, b, b]) {
        const res = await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ email: ANNE });
      }
      expect(dev.requestCounts.userinfo).toBe(2); // once per instance, then from its local copy
    });

    it('an expired session still refreshes (single flight per instance meanwhile)', async () => {
      const expired = await expiredSession(sessionCookies);
      const answers = await Promise.all([a, a, a].map((app) => request(app.getHttpServer()).get('/api/castles').set('Cookie', expired)));
      expect(answers.map((res) => res.status)).toEqual([200, 200, 200]);
      expect(dev.requestCounts.token).toBe(1);
    });

    it('webhooks are refused with 503 (replay cannot be ruled out), handler not run', async () => {
      const sent = delivery({ type: 'user.created', data: userData() });
      expect((await post(a, sent)).status).toBe(503);
      expect((await post(b, sent)).status).toBe(503);
      expect(FiefEventsController.received).toEqual([]);
    });
  });
});

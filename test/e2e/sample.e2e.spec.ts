import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FiefDevServer } from '../../lib/testing/index.js';
import { createAppModule } from '../../sample/app.module.js';
import { ADAPTERS, ANNE, createApp, GUEST } from './fixtures.js';

describe.each(ADAPTERS)('the sample castles API on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: any;
  let anne: string;
  let guest: string;

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    app = await createApp(adapter, {
      imports: [createAppModule({ FIEF_BASE_URL: baseURL, FIEF_CLIENT_ID: 'fief-dev-client', FIEF_CLIENT_SECRET: 'fief-dev-secret' })],
    });
    server = app.getHttpServer();
    anne = await dev.issueAccessToken({ user: ANNE });
    guest = await dev.issueAccessToken({ user: GUEST });
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('keeps /health public and everything else behind the global guard', async () => {
    expect((await request(server).get('/health')).body).toMatchObject({ status: 'ok', info: { fief: { status: 'up' } } });
    expect((await request(server).get('/health/live')).body).toEqual({ status: 'ok' });
    const refused = await request(server).get('/castles');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="castles"');
  });

  it('lets castles:read list and only castles:create build', async () => {
    expect((await request(server).get('/castles').set(auth(guest))).status).toBe(200);
    const refused = await request(server).post('/castles').set(auth(guest)).send({ name: 'Guest keep' });
    expect(refused.status).toBe(403);
    expect(refused.headers['www-authenticate']).toContain('error="insufficient_scope"');
    const built = await request(server).post('/castles').set(auth(anne)).send({ name: 'Château de Nantes' });
    expect(built.status).toBe(201);
    expect(built.body).toEqual({ name: 'Château de Nantes', createdBy: dev.findUser(ANNE)!.id });
    expect((await request(server).get('/castles').set(auth(guest))).body).toContainEqual(built.body);
  });

  it('shows the caller on GET /me and updates Fief on PATCH /me, without a stale cache', async () => {
    const me = await request(server).get('/me').set(auth(anne));
    expect(me.body).toMatchObject({ email: ANNE, fields: { first_name: 'Anne' } });
    const patched = await request(server).patch('/me').set(auth(anne)).send({ fields: { first_name: `Anne-${adapter}` } });
    expect(patched.status).toBe(200);
    expect(patched.body.fields.first_name).toBe(`Anne-${adapter}`);
    expect(dev.findUser(ANNE)!.fields?.first_name).toBe(`Anne-${adapter}`);
    expect((await request(server).get('/me').set(auth(anne))).body.fields.first_name).toBe(`Anne-${adapter}`);
    expect((await request(server).patch('/me').set(auth(anne)).send({ fields: 'nope' })).status).toBe(400);
  });
});

/**
 * The sample with its second tenant (what `npm start` runs against the dev server): `duchy` on
 * 127.0.0.1 and `globex` on localhost, each with its own tokens, users, login and session.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createServer } from 'node:net';
import request from 'supertest';
import { finishAppLogin, FiefDevServer } from '../../lib/testing/index.js';
import { createAppModule } from '../../sample/app.module.js';
import { ADAPTERS, ANNE, createApp, GUEST } from './fixtures.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(ADAPTERS)('the sample with two tenants on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: any;
  let port: number;
  const duchyHost = () => `127.0.0.1:${port}`;
  const globexHost = () => `localhost:${port}`;

  beforeAll(async () => {
    dev = new FiefDevServer({ tenants: { globex: {} } });
    const baseURL = await dev.start();
    const globex = dev.tenant('globex');
    port = await freePort();
    app = await createApp(adapter, {
      imports: [
        createAppModule({
          FIEF_BASE_URL: baseURL,
          FIEF_CLIENT_ID: 'fief-dev-client',
          FIEF_CLIENT_SECRET: 'fief-dev-secret',
          APP_URL: `http://${duchyHost()}`,
          FIEF_GLOBEX_BASE_URL: globex.baseURL,
          FIEF_GLOBEX_CLIENT_ID: globex.clients[0].clientId,
          FIEF_GLOBEX_CLIENT_SECRET: globex.clients[0].clientSecret!,
          GLOBEX_APP_URL: `http://${globexHost()}`,
        }),
      ],
    });
    await app.listen(port, '127.0.0.1');
    server = app.getHttpServer();
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const call = (host: string, path: string, token: string) => request(server).get(path).set('Host', host).set('Authorization', `Bearer ${token}`);

  it("answers each tenant's token on its own host only, with that tenant's user", async () => {
    const duchy = await dev.issueAccessToken({ user: ANNE });
    const globex = await dev.tenant('globex').issueAccessToken({ user: ANNE });
    expect((await call(duchyHost(), '/me', duchy)).body.sub).toBe(dev.findUser(ANNE)!.id);
    expect((await call(globexHost(), '/me', globex)).body.sub).toBe(dev.tenant('globex').findUser(ANNE)!.id);
    expect(dev.findUser(ANNE)!.id).not.toBe(dev.tenant('globex').findUser(ANNE)!.id);
    for (const [host, token] of [[duchyHost(), globex], [globexHost(), duchy]]) {
      const refused = await call(host, '/castles', token);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    }
  });

  it("PATCH /me updates the caller's tenant's user, not the other's", async () => {
    const token = await dev.tenant('globex').issueAccessToken({ user: GUEST });
    const before = dev.findUser(GUEST)!.fields?.first_name;
    const patched = await request(server)
      .patch('/me')
      .set('Host', globexHost())
      .set('Authorization', `Bearer ${token}`)
      .send({ fields: { first_name: `Globex-${adapter}` } });
    expect(patched.status).toBe(200);
    expect(dev.tenant('globex').findUser(GUEST)!.fields?.first_name).toBe(`Globex-${adapter}`);
    expect(dev.findUser(GUEST)!.fields?.first_name).toBe(before);
  });

  it('reports both tenants on /health', async () => {
    const health = await request(server).get('/health');
    expect(health.status).toBe(200);
    expect(health.body.info.fief).toEqual({ status: 'up', tenants: { duchy: { status: 'up' }, globex: { status: 'up' } } });
  });

  it("logs a browser in at its host's tenant; the session is no credential on the other host", async () => {
    const login = await finishAppLogin(`http://${globexHost()}`, dev.tenant('globex'), { email: ANNE });
    const me = await request(server).get('/auth/me').set('Host', globexHost()).set('Cookie', login.cookieHeader);
    expect(me.status).toBe(200);
    expect(me.body.sub).toBe(dev.tenant('globex').findUser(ANNE)!.id);
    const elsewhere = await request(server).get('/me').set('Host', duchyHost()).set('Cookie', login.cookieHeader);
    expect(elsewhere.status).toBe(401);
  });
});

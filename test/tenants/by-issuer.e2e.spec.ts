/**
 * Several tenants without resolveTenant: a bearer token picks its tenant by its exact `iss`, then
 * that tenant fully verifies it. An `iss` naming no tenant is refused before anything is fetched.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FiefError, FiefModule, FiefService } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, createApp, GUEST } from '../e2e/fixtures.js';
import { PassportWhoamiController, ran, requestsTo, TENANTS, tenantsOption, WhoamiController } from './tenant-fixtures.js';

describe.each(ADAPTERS)('tenants chosen by issuer on %s', (adapter) => {
  let dev: FiefDevServer;
  const apps: INestApplication[] = [];
  const start = async () => {
    const app = await createApp(adapter, {
      imports: [FiefModule.forRoot({ tenants: tenantsOption(dev) })],
      controllers: [WhoamiController, PassportWhoamiController],
    });
    apps.push(app);
    return app;
  };
  const all = () => [dev.tenant(), ...TENANTS.map((name) => dev.tenant(name))];
  const totalRequests = () => all().reduce((sum, tenant) => sum + requestsTo(tenant), 0);

  beforeAll(async () => {
    dev = new FiefDevServer({ tenants: { acme: {}, globex: {} } });
    await dev.start();
  });

  beforeEach(() => {
    ran.length = 0;
    for (const tenant of all()) tenant.resetRequestCounts();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await dev?.stop();
  });

  it('boots without I/O, and a tenant never used is never contacted', async () => {
    const server = (await start()).getHttpServer();
    expect(totalRequests()).toBe(0);
    const token = await dev.tenant('acme').issueAccessToken({ user: ANNE });
    expect((await request(server).get('/whoami').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect(requestsTo(dev.tenant('acme'))).toBeGreaterThan(0);
    expect(requestsTo(dev.tenant('globex'))).toBe(0);
  });

  it.each(TENANTS)("accepts %s's token with its name, on FiefAuthGuard and AuthGuard('fief'), and its own user", async (name) => {
    const server = (await start()).getHttpServer();
    const tenant = dev.tenant(name);
    const token = await tenant.issueAccessToken({ user: GUEST });
    const expected = { tenant: name, id: tenant.findUser(GUEST)!.id };
    expect((await request(server).get('/whoami').set('Authorization', `Bearer ${token}`)).body).toEqual(expected);
    expect((await request(server).get('/passport').set('Authorization', `Bearer ${token}`)).body).toEqual(expected);
    expect((await request(server).get('/whoami/me').set('Authorization', `Bearer ${token}`)).body).toEqual({ tenant: name, email: GUEST });
    // The same user's id differs per tenant: the tenant's own user was loaded.
    expect(tenant.findUser(GUEST)!.id).not.toBe(dev.tenant(name === 'acme' ? 'globex' : 'acme').findUser(GUEST)!.id);
  });

  it("answers a cached token with its own tenant, with every tenant's cache in use, and nothing fetched", async () => {
    const server = (await start()).getHttpServer();
    const tokens = await Promise.all(TENANTS.map((name) => dev.tenant(name).issueAccessToken({ user: ANNE })));
    const first = await Promise.all(tokens.map((token) => request(server).get('/whoami').set('Authorization', `Bearer ${token}`)));
    for (const tenant of all()) tenant.resetRequestCounts();
    for (let round = 0; round < 2; round++) {
      for (const [index, token] of tokens.entries()) {
        const res = await request(server).get('/whoami').set('Authorization', `Bearer ${token}`);
        expect(res.body).toEqual(first[index].body);
        expect(res.body.tenant).toBe(TENANTS[index]);
      }
    }
    expect(totalRequests()).toBe(0);
  });

  it('refuses tokens whose iss names no tenant with 401 and no request at all', async () => {
    const server = (await start()).getHttpServer();
    const foreign = [
      await dev.tenant().issueAccessToken({ user: ANNE }), // the server's default tenant: not configured here
      await dev.tenant('acme').issueAccessToken({ user: ANNE, claims: { iss: 'http://127.0.0.1:9/evil' } }),
      await dev.tenant('acme').issueAccessToken({ user: ANNE, claims: { iss: `${dev.tenant('acme').issuer}/` } }),
      await dev.tenant('acme').issueAccessToken({ user: ANNE, claims: { iss: dev.tenant('acme').issuer.toUpperCase() } }),
    ];
    for (const token of foreign) {
      for (const route of ['/whoami', '/passport']) {
        const res = await request(server).get(route).set('Authorization', `Bearer ${token}`);
        expect([res.status, res.headers['www-authenticate']]).toEqual([401, expect.stringContaining('error="invalid_token"')]);
      }
    }
    expect(totalRequests()).toBe(0);
    expect(ran).toEqual([]);
  });

  it("refuses a token that claims one tenant's issuer but is signed by another's key", async () => {
    const server = (await start()).getHttpServer();
    // Issued a minute ago: a key unknown to acme at its first fetch is refused, not "maybe rotated in since".
    const iat = Math.floor(Date.now() / 1000) - 60;
    const forged = await dev.tenant('globex').issueAccessToken({ user: ANNE, claims: { iss: dev.tenant('acme').issuer, iat, auth_time: iat } });
    expect((await request(server).get('/whoami').set('Authorization', `Bearer ${forged}`)).status).toBe(401);
    expect(requestsTo(dev.tenant('globex'))).toBe(0);
    expect(ran).toEqual([]);
  });

  it('answers 503 for the tenant that is down only; the other keeps working', async () => {
    const server = (await start()).getHttpServer();
    dev.tenant('acme').setFault('all', 'down');
    try {
      const acme = await dev.tenant('acme').issueAccessToken({ user: ANNE });
      const globex = await dev.tenant('globex').issueAccessToken({ user: ANNE });
      const down = await request(server).get('/whoami').set('Authorization', `Bearer ${acme}`);
      expect([down.status, down.headers['retry-after']]).toEqual([503, '10']);
      expect((await request(server).get('/whoami').set('Authorization', `Bearer ${globex}`)).body.tenant).toBe('globex');
      expect(ran).toEqual(['whoami']);
    } finally {
      dev.tenant('acme').setFault('all', null);
    }
  });

  it('FiefService: forTenant(name) per tenant; the tenant-less methods name forTenant', async () => {
    const fief = (await start()).get(FiefService);
    const token = await dev.tenant('globex').issueAccessToken({ user: ANNE });
    expect((await fief.forTenant('globex').userinfo(token)).email).toBe(ANNE);
    expect(fief.forTenant('globex')).toBe(fief.forTenant('globex'));
    await expect(fief.forTenant('acme').userinfo(token)).rejects.toBeInstanceOf(FiefError);
    expect(() => fief.userinfo(token)).toThrow(/forTenant/);
    expect(() => fief.options).toThrow(FiefError);
    expect(() => fief.forTenant('initech')).toThrow('No Fief tenant is named "initech"');
    expect(() => fief.forTenant('__proto__')).toThrow(FiefError);
  });
});

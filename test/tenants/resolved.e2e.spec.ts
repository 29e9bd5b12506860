/**
 * Several tenants with resolveTenant and the login flow: the request's tenant is the one it names;
 * another tenant's token or session cookie is no credential there, and nothing is fetched for it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefModule } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, createApp, GUEST } from '../e2e/fixtures.js';
import { cookieHeader, jar, type Cookies } from '../login/login-test-helpers.js';
import { PassportWhoamiController, ran, requestsTo, TENANTS, tenantsOption, WhoamiController, type TenantName } from './tenant-fixtures.js';

const SECRET = 'tenants-cookie-secret-tenants-cookie-secret';
const byHeader = (req: { headers: Record<string, unknown> }) => (typeof req.headers['x-tenant'] === 'string' ? req.headers['x-tenant'] : undefined);

describe.each(ADAPTERS)('tenants named by resolveTenant, with login, on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: Parameters<typeof request>[0];
  const sessions = {} as Record<TenantName, Cookies>;
  const totalRequests = () => TENANTS.reduce((sum, name) => sum + requestsTo(dev.tenant(name)), 0);

  async function logInTo(tenant: TenantName, email: string): Promise<Cookies> {
    const start = await request(server).get('/auth/login').set('x-tenant', tenant);
    expect(start.status).toBe(302);
    expect(start.headers.location.startsWith(`${dev.tenant(tenant).baseURL}/`)).toBe(true);
    const fief = await dev.tenant(tenant).login(start.headers.location, { email });
    const callbackUrl = new URL(fief.url);
    const callback = await request(server)
      .get(`${callbackUrl.pathname}${callbackUrl.search}`)
      .set('x-tenant', tenant)
      .set('Cookie', cookieHeader(jar(start)));
    expect(callback.status).toBe(302);
    return jar(callback, jar(start));
  }

  beforeAll(async () => {
    // acme's access tokens live 31 s: with the default 30 s leeway its sessions refresh at once.
    dev = new FiefDevServer({
      tenants: { acme: { clients: [{ clientId: 'acme-app', clientSecret: 'acme-secret', accessTokenTtl: 31 }] }, globex: {} },
    });
    await dev.start();
    app = await createApp(adapter, {
      imports: [
        FiefModule.forRoot({
          tenants: tenantsOption(dev),
          resolveTenant: byHeader,
          login: { redirectUri: 'http://localhost/auth/callback', cookieSecret: SECRET, secureCookies: false },
        }),
      ],
      controllers: [WhoamiController, PassportWhoamiController],
    });
    server = app.getHttpServer();
    sessions.acme = await logInTo('acme', ANNE);
    sessions.globex = await logInTo('globex', GUEST);
  });

  beforeEach(() => {
    ran.length = 0;
    for (const name of TENANTS) dev.tenant(name).resetRequestCounts();
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  it.each(TENANTS)("accepts %s's token on a request resolved to it", async (name) => {
    const token = await dev.tenant(name).issueAccessToken({ user: ANNE });
    for (const route of ['/whoami', '/passport']) {
      const res = await request(server).get(route).set('x-tenant', name).set('Authorization', `Bearer ${token}`);
      expect(res.body).toEqual({ tenant: name, id: dev.tenant(name).findUser(ANNE)!.id });
    }
  });

  it("refuses a valid token of another tenant, an unknown tenant and no tenant: 401, nothing fetched, the handler never run", async () => {
    const acme = await dev.tenant('acme').issueAccessToken({ user: ANNE });
    for (const route of ['/whoami', '/passport']) {
      for (const tenant of ['globex', 'initech', '__proto__', undefined]) {
        let call = request(server).get(route).set('Authorization', `Bearer ${acme}`);
        if (tenant !== undefined) call = call.set('x-tenant', tenant);
        const res = await call;
        expect([tenant, res.status]).toEqual([tenant, 401]);
      }
    }
    expect(totalRequests()).toBe(0);
    expect(ran).toEqual([]);
  });

  it("refuses a token its own tenant has verified (and cached) on a request resolved to another", async () => {
    const acme = await dev.tenant('acme').issueAccessToken({ user: ANNE });
    for (const route of ['/whoami', '/passport']) {
      const own = await request(server).get(route).set('x-tenant', 'acme').set('Authorization', `Bearer ${acme}`);
      expect(own.status).toBe(200);
    }
    ran.length = 0;
    for (const name of TENANTS) dev.tenant(name).resetRequestCounts();
    for (const route of ['/whoami', '/passport']) {
      for (const tenant of ['globex', 'initech', undefined]) {
        let call = request(server).get(route).set('Authorization', `Bearer ${acme}`);
        if (tenant !== undefined) call = call.set('x-tenant', tenant);
        const res = await call;
        expect([tenant, res.status, res.headers['www-authenticate']]).toEqual([tenant, 401, expect.stringContaining('error="invalid_token"')]);
      }
    }
    expect(totalRequests()).toBe(0);
    expect(ran).toEqual([]);
  });

  it("each tenant's session cookie works on its own tenant only", async () => {
    const own = await request(server).get('/whoami').set('x-tenant', 'globex').set('Cookie', cookieHeader(sessions.globex));
    expect(own.body).toEqual({ tenant: 'globex', id: dev.tenant('globex').findUser(GUEST)!.id });
    ran.length = 0;
    for (const [cookie, tenant] of [[sessions.acme, 'globex'], [sessions.globex, 'acme']] as const) {
      for (const route of ['/whoami', '/passport']) {
        const res = await request(server).get(route).set('x-tenant', tenant).set('Cookie', cookieHeader(cookie));
        expect([route, tenant, res.status]).toEqual([route, tenant, 401]);
      }
    }
    expect(ran).toEqual([]);
  });

  it('/auth/me answers for the resolved tenant only', async () => {
    const me = await request(server).get('/auth/me').set('x-tenant', 'globex').set('Cookie', cookieHeader(sessions.globex));
    expect([me.status, me.body.email, me.body.sub]).toEqual([200, GUEST, dev.tenant('globex').findUser(GUEST)!.id]);
    dev.tenant('acme').resetRequestCounts();
    expect((await request(server).get('/auth/me').set('x-tenant', 'acme').set('Cookie', cookieHeader(sessions.globex))).status).toBe(401);
    // The cookie says globex: acme's Fief is not even asked.
    expect(requestsTo(dev.tenant('acme'))).toBe(0);
    expect((await request(server).get('/auth/me').set('Cookie', cookieHeader(sessions.globex))).status).toBe(404);
  });

  it("refreshes a session at its own tenant's Fief", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const res = await request(server).get('/whoami').set('x-tenant', 'acme').set('Cookie', cookieHeader(sessions.acme));
    expect(res.body.tenant).toBe('acme');
    expect(res.headers['set-cookie']?.[0]).toContain('fief_session=');
    expect(dev.tenant('acme').requestCounts.token).toBe(1);
    expect(requestsTo(dev.tenant('globex'))).toBe(0);
  });

  it("/auth/logout sends the browser to its tenant's Fief", async () => {
    for (const name of TENANTS) {
      const res = await request(server).get('/auth/logout').set('x-tenant', name).set('Cookie', cookieHeader(sessions[name]));
      expect(res.status).toBe(302);
      expect(res.headers.location.startsWith(`${dev.tenant(name).baseURL}/logout`)).toBe(true);
    }
  });
});

describe('tenants at start-up', () => {
  const tenants = { acme: { baseURL: 'https://fief.example.com/acme', clientId: 'a', clientSecret: 's' } };
  const boot = (options: Parameters<typeof FiefModule.forRoot>[0]) =>
    Test.createTestingModule({ imports: [FiefModule.forRoot(options)] })
      .setLogger({ log: () => {}, error: () => {}, warn: () => {} })
      .compile();

  it('refuses login with tenants but no resolveTenant', async () => {
    await expect(boot({ tenants, login: { redirectUri: 'https://app.example.com/auth/callback', cookieSecret: SECRET } })).rejects.toThrow(
      'The login flow with tenants needs resolveTenant',
    );
  });

  it("names the tenant whose login options are wrong (here: no redirectUri for globex)", async () => {
    const both = {
      acme: { ...tenants.acme, login: { redirectUri: 'https://acme.example.com/auth/callback' } },
      globex: { baseURL: 'https://fief.example.com/globex', clientId: 'g' },
    };
    await expect(boot({ tenants: both, resolveTenant: () => 'acme', login: { cookieSecret: SECRET } })).rejects.toThrow(
      /Invalid login options of tenant globex: login.redirectUri is required/,
    );
  });

  it("checks every tenant's options, and refuses two tenants with one issuer", async () => {
    await expect(boot({ tenants: { ...tenants, globex: { baseURL: 'not a url', clientId: '' } } })).rejects.toThrow(
      /tenants\.globex\.baseURL[\s\S]*tenants\.globex\.clientId/,
    );
    await expect(boot({ tenants: { ...tenants, again: { ...tenants.acme, baseURL: 'https://fief.example.com/acme/' } } })).rejects.toThrow('the same issuer');
    await expect(boot({ tenants: {} })).rejects.toThrow('at least one tenant');
  });

  it('boots with tenants and no Fief reachable (no I/O at boot)', async () => {
    const moduleRef = await boot({ tenants: { acme: { baseURL: 'http://127.0.0.1:9/acme', clientId: 'a' }, b: { baseURL: 'http://127.0.0.1:9/b', clientId: 'b' } } });
    await moduleRef.close();
  });
});

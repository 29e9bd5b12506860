/**
 * With several tenants in FiefModule, each tenant's calls to Fief, verifications and cache lookups
 * carry its name (`fief.tenant`), and refusals are counted whichever tenant they concern.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { FiefModule } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ANNE, createApp, TelemetryController } from './fixtures.js';
import { OtelHarness, total } from './otel-harness.js';

describe('telemetry with several tenants', () => {
  const otel = new OtelHarness();
  let dev: FiefDevServer;
  let app: INestApplication;

  beforeAll(async () => {
    otel.install();
    dev = new FiefDevServer({ tenants: { acme: {}, globex: {} } });
    await dev.start();
    const tenant = (slug: string) => {
      const { baseURL, clients } = dev.tenant(slug);
      return { baseURL, clientId: clients[0].clientId, clientSecret: clients[0].clientSecret! };
    };
    app = await createApp('fastify', {
      imports: [FiefModule.forRoot({ tenants: { acme: tenant('acme'), globex: tenant('globex') } })],
      controllers: [TelemetryController],
    });
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
    await otel.uninstall();
  });

  const get = (path: string, token: string) => request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);
  const token = (slug: string) => dev.tenant(slug).issueAccessToken({ user: ANNE, claims: { jti: randomUUID() } });

  it('names the tenant on each call, verification and lookup', async () => {
    const acme = await token('acme');
    const globex = await token('globex');
    expect((await get('/t/me', acme)).body).toEqual({ email: ANNE });
    expect((await get('/t/me', acme)).status).toBe(200);
    expect((await get('/t/plain', globex)).status).toBe(200);
    expect((await get('/t/plain', `${globex.slice(0, -4)}AAAA`)).status).toBe(401);

    const byTenant = (tenant: string) => otel.spans().filter((span) => span.attributes['fief.tenant'] === tenant).map((span) => span.name);
    expect(byTenant('acme')).toEqual(['fief.discovery', 'fief.jwks', 'fief.userinfo']);
    expect(byTenant('globex')).toEqual(['fief.discovery', 'fief.jwks']);
    expect(otel.spans().every((span) => span.attributes['url.full']!.toString().includes(`/${span.attributes['fief.tenant']}/`))).toBe(true);

    const points = await otel.points();
    const count = (name: string, attributes: Record<string, string>) => total(points, name, attributes);
    expect(count('fief.token.verifications', { 'fief.tenant': 'acme', 'fief.outcome': 'valid' })).toBe(1);
    expect(count('fief.token.verifications', { 'fief.tenant': 'globex', 'fief.outcome': 'valid' })).toBe(1);
    expect(count('fief.token.verifications', { 'fief.tenant': 'globex', 'fief.outcome': 'invalid' })).toBe(1);
    expect(count('fief.cache.lookups', { 'fief.cache': 'user_info', 'fief.tenant': 'acme', 'fief.cache.result': 'miss' })).toBe(1);
    expect(count('fief.cache.lookups', { 'fief.cache': 'user_info', 'fief.tenant': 'acme', 'fief.cache.result': 'hit' })).toBe(1);
    expect(count('fief.cache.lookups', { 'fief.cache': 'verified_token', 'fief.tenant': 'acme', 'fief.cache.result': 'hit' })).toBe(1);
    expect(count('fief.auth.refusals', { 'http.response.status_code': 401 } as never)).toBe(1);
  });
});

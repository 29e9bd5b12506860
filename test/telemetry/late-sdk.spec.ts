/**
 * With no SDK registered the module runs on the API's no-ops; an SDK registered later (after the
 * first calls to Fief) still gets every instrument, since the metrics API has no proxy of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FiefModule } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ANNE, CLIENT, createApp, TelemetryController } from './fixtures.js';
import { OtelHarness, total } from './otel-harness.js';

describe('an SDK registered after the app ran', () => {
  let dev: FiefDevServer;
  let app: INestApplication;
  const otel = new OtelHarness();

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    app = await createApp('fastify', { imports: [FiefModule.forRoot({ baseURL, ...CLIENT })], controllers: [TelemetryController] });
  });

  afterAll(async () => {
    await app?.close();
    await otel.uninstall();
    await dev?.stop();
  });

  const get = (path: string, token: string) => request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);

  it('counts from the moment it is registered, hits made before it included', async () => {
    const anne = await dev.issueAccessToken({ user: ANNE });
    // No SDK: the no-op API, nothing recorded, nothing broken.
    expect((await get('/t/plain', anne)).status).toBe(200);
    expect((await get('/t/plain', anne)).status).toBe(200);

    otel.install();
    const guest = await dev.issueAccessToken({ user: 'guest@example.com' });
    expect((await get('/t/plain', guest)).status).toBe(200);
    expect((await get('/t/plain', anne)).status).toBe(200);
    const points = await otel.points();
    expect(total(points, 'fief.token.verifications', { 'fief.outcome': 'valid' })).toBe(1);
    // The hit counts are the cache's own: the two hits before the SDK came are there too.
    expect(total(points, 'fief.cache.lookups', { 'fief.cache': 'verified_token', 'fief.cache.result': 'hit' })).toBe(2);
    expect(total(points, 'fief.cache.lookups', { 'fief.cache': 'verified_token', 'fief.cache.result': 'miss' })).toBe(2);
    expect(otel.spans()).toEqual([]); // keys were fetched before the SDK came
  });
});

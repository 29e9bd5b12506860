import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefDevServer } from '../../lib/testing/index.js';
import { createAppModule } from '../../sample/app.module.js';
import { ADAPTERS, RecordingLogger } from './webhook-fixtures.js';

describe.each(ADAPTERS)('the sample on %s: Fief events logged, Fief health', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  const logger = new RecordingLogger();

  beforeAll(async () => {
    dev = new FiefDevServer({ webhookAttempts: 1 });
    const baseURL = await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [
        createAppModule({
          FIEF_BASE_URL: baseURL,
          FIEF_CLIENT_ID: 'fief-dev-client',
          FIEF_CLIENT_SECRET: 'fief-dev-secret',
          FIEF_WEBHOOK_SECRET: 'sample-webhook-secret',
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { rawBody: true, logger });
    await app.listen(0, '127.0.0.1');
    dev.addWebhook({ url: `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/webhooks/fief`, secret: 'sample-webhook-secret' });
  });
  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  it("logs the dev server's signed events", async () => {
    dev.addUser({ email: 'perceval@graal.quest' });
    dev.grantPermission('perceval@graal.quest', 'castles:read');
    dev.sendWebhook('user.legacy_registered', { id: 'x' });
    const deliveries = await dev.flushWebhooks();
    expect(deliveries.map((delivery) => delivery.attempts.map((attempt) => attempt.status))).toEqual([[204], [204], [204]]);
    const lines = logger.lines.map((line) => line.message);
    expect(lines).toContainEqual(expect.stringMatching(/^user\.created: perceval@graal\.quest \(/));
    expect(lines).toContainEqual(expect.stringMatching(/^user_permission\.created: castles:read for user /));
    expect(lines).toContainEqual('Fief event of a type this version does not know: user.legacy_registered');
  });

  it('/health reports Fief down (503) with the reason while its JWKS is down; /health/live stays up', async () => {
    dev.setFault('jwks', 'down');
    try {
      const health = await request(app.getHttpServer()).get('/health');
      expect(health.status).toBe(503);
      expect(health.body.error.fief.reason).toMatch(/JWKS/);
      expect((await request(app.getHttpServer()).get('/health/live')).status).toBe(200);
    } finally {
      dev.setFault('jwks', null);
    }
    expect((await request(app.getHttpServer()).get('/health')).status).toBe(200);
  });
});

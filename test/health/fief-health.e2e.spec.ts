import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Query, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefModule, Public } from '../../lib/index.js';
import { FiefHealthIndicator } from '../../lib/health/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly fief: FiefHealthIndicator,
  ) {}

  @Get()
  @Public()
  @HealthCheck()
  check(@Query('timeout') timeout?: string) {
    return this.health.check([() => this.fief.isHealthy('fief', timeout ? { timeout: Number(timeout) } : {})]);
  }

  @Get('named')
  @Public()
  @HealthCheck()
  named() {
    return this.health.check([() => this.fief.isHealthy('identity')]);
  }
}

async function createHealthApp(adapter: 'express' | 'fastify', baseURL: string): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [TerminusModule.forRoot({ logger: false }), FiefModule.forRoot({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' })],
    controllers: [HealthController],
    providers: [FiefHealthIndicator],
  }).compile();
  const app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false });
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe.each(['express', 'fastify'] as const)('FiefHealthIndicator with Terminus on %s, against the live dev server', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;

  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
    app = await createHealthApp(adapter, dev.baseURL);
  });
  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });
  beforeEach(() => {
    dev.setFault('all', null);
    dev.resetRequestCounts();
  });

  it('is up when discovery and the JWKS answer', async () => {
    const response = await request(app.getHttpServer()).get('/health');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', info: { fief: { status: 'up' } }, error: {}, details: { fief: { status: 'up' } } });
    expect(await request(app.getHttpServer()).get('/health/named').then((r) => r.body.info)).toEqual({ identity: { status: 'up' } });
  });

  it('asks Fief afresh on every check (never answers from the verification cache)', async () => {
    await request(app.getHttpServer()).get('/health');
    await request(app.getHttpServer()).get('/health');
    expect(dev.requestCounts.discovery).toBe(2);
    expect(dev.requestCounts.jwks).toBe(2);
  });

  it('is down (503) with the reason when the JWKS is down, and up again once it is back', async () => {
    dev.setFault('jwks', 'down');
    const down = await request(app.getHttpServer()).get('/health');
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('error');
    expect(down.body.error.fief.status).toBe('down');
    expect(down.body.error.fief.reason).toMatch(/JWKS/);
    dev.setFault('jwks', null);
    expect((await request(app.getHttpServer()).get('/health')).status).toBe(200);
  });

  it('is down (503) when discovery answers HTML or a 500', async () => {
    for (const fault of ['html', '500'] as const) {
      dev.setFault('discovery', fault);
      const response = await request(app.getHttpServer()).get('/health');
      expect({ fault, status: response.status }).toEqual({ fault, status: 503 });
      expect(response.body.error.fief.reason).toMatch(/discovery/);
    }
  });

  it('is down (503) within the timeout when the JWKS hangs', async () => {
    dev.setFault('jwks', 'hang');
    const started = Date.now();
    const response = await request(app.getHttpServer()).get('/health?timeout=400');
    expect(response.status).toBe(503);
    expect(response.body.error.fief.reason).toMatch(/did not answer within/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('checks arriving together share one probe', async () => {
    const indicator = app.get(FiefHealthIndicator);
    const results = await Promise.all(Array.from({ length: 5 }, () => indicator.isHealthy()));
    expect(results).toEqual(Array(5).fill({ fief: { status: 'up' } }));
    expect(dev.requestCounts.discovery).toBe(1);
    await indicator.isHealthy();
    expect(dev.requestCounts.discovery).toBe(2); // shared while in flight only, never cached
  });
});

describe('FiefHealthIndicator when Fief is not there at all', () => {
  it('the app starts, and the check is down (503) with the reason', async () => {
    const dev = new FiefDevServer();
    const baseURL = await dev.start();
    await dev.stop(); // a port where nothing listens now
    const app = await createHealthApp('express', baseURL);
    try {
      const response = await request(app.getHttpServer()).get('/health');
      expect(response.status).toBe(503);
      expect(response.body.error.fief.reason).toMatch(/unreachable/);
    } finally {
      await app.close();
    }
  });
});

describe('FiefHealthIndicator with several tenants', () => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let indicator: FiefHealthIndicator;

  beforeAll(async () => {
    dev = new FiefDevServer({ tenants: { acme: {}, globex: {} } });
    await dev.start();
    const tenant = (name: 'acme' | 'globex') => {
      const { clientId, clientSecret } = dev.tenant(name).clients[0];
      return { baseURL: dev.tenant(name).baseURL, clientId, clientSecret };
    };
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule.forRoot({ logger: false }), FiefModule.forRoot({ tenants: { acme: tenant('acme'), globex: tenant('globex') } })],
      controllers: [HealthController],
      providers: [FiefHealthIndicator],
    }).compile();
    app = moduleRef.createNestApplication(new ExpressAdapter(), { logger: false });
    await app.init();
    indicator = app.get(FiefHealthIndicator);
  });
  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  it('probes each tenant at its own URL and is up when all are', async () => {
    dev.tenant('acme').resetRequestCounts();
    dev.tenant('globex').resetRequestCounts();
    const response = await request(app.getHttpServer()).get('/health');
    expect(response.status).toBe(200);
    expect(response.body.info.fief).toEqual({ status: 'up', tenants: { acme: { status: 'up' }, globex: { status: 'up' } } });
    expect([dev.tenant('acme').requestCounts.jwks, dev.tenant('globex').requestCounts.jwks]).toEqual([1, 1]);
  });

  it('one tenant down makes the indicator down (503), naming that tenant and why; the other stays up', async () => {
    dev.tenant('acme').setFault('jwks', 'down');
    try {
      const response = await request(app.getHttpServer()).get('/health');
      expect(response.status).toBe(503);
      const { tenants } = response.body.error.fief;
      expect(tenants.acme.status).toBe('down');
      expect(tenants.acme.reason).toMatch(/\/acme\/.well-known\/jwks.json/);
      expect(tenants.globex).toEqual({ status: 'up' });
      expect(await indicator.isHealthy('fief', { tenant: 'globex' })).toEqual({ fief: { status: 'up', tenants: { globex: { status: 'up' } } } });
      expect((await indicator.isHealthy('fief', { tenant: 'acme' })).fief.status).toBe('down');
    } finally {
      dev.tenant('acme').setFault('jwks', null);
    }
  });

  it('a tenant that is not configured is down with the reason, never an exception', async () => {
    expect(await indicator.isHealthy('fief', { tenant: 'initech' })).toEqual({
      fief: { status: 'down', reason: 'No Fief tenant is named "initech"' },
    });
  });
});

/**
 * Issue 10 §5: `nestjs-fief/passport` exports FiefStrategy as a value users import, register and
 * subclass; the module registers a subclass given as `passport`, and fails closed without its interceptor.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Logger, UseGuards, type INestApplication } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import request from 'supertest';
import { FiefModule, FiefService, Permissions, type FiefAccessTokenInfo } from '../../lib/index.js';
import { FiefStrategy } from '../../lib/passport/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, createApp, GUEST } from '../e2e/fixtures.js';

const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };
const audited: string[] = [];

@Injectable()
class AuditedFiefStrategy extends FiefStrategy {
  override async validate(request: any): Promise<FiefAccessTokenInfo> {
    const info = await super.validate(request);
    audited.push(info.id);
    return info;
  }
}

@Controller('castles')
@UseGuards(AuthGuard('fief'))
class CastlesController {
  @Get()
  @Permissions('castles:create')
  create() {
    return { ok: true };
  }
}

describe.each(ADAPTERS)('nestjs-fief/passport on %s', (adapter) => {
  let dev: FiefDevServer;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await dev?.stop();
  });

  it('registers a subclass given as `passport`, with the same verdicts', async () => {
    const app = await createApp(adapter, {
      imports: [FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, passport: AuditedFiefStrategy })],
      controllers: [CastlesController],
    });
    apps.push(app);
    const server = app.getHttpServer();
    audited.length = 0;
    const anne = await dev.issueAccessToken({ user: ANNE });
    const guest = await dev.issueAccessToken({ user: GUEST });
    expect((await request(server).get('/castles').set('Authorization', `Bearer ${anne}`)).status).toBe(200);
    expect((await request(server).get('/castles').set('Authorization', `Bearer ${guest}`)).status).toBe(403);
    expect((await request(server).get('/castles')).status).toBe(401);
    expect(audited).toEqual([dev.findUser(ANNE)!.id, dev.findUser(GUEST)!.id]);
    expect(app.get(FiefService)).toBeInstanceOf(FiefService);
  });

  it('fails closed when the strategy is registered by hand without the module interceptor (passport: false)', async () => {
    const error = Logger.prototype.error;
    Logger.prototype.error = () => undefined;
    try {
      const app = await createApp(adapter, {
        imports: [FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, passport: false })],
        controllers: [CastlesController],
        providers: [FiefStrategy],
      });
      apps.push(app);
      const guest = await dev.issueAccessToken({ user: GUEST });
      // Without the interceptor, @Permissions would go unchecked: refused instead of a 200.
      expect((await request(app.getHttpServer()).get('/castles').set('Authorization', `Bearer ${guest}`)).status).toBe(401);
    } finally {
      Logger.prototype.error = error;
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  HttpException,
  Injectable,
  Module,
  NotFoundException,
  UseGuards,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FiefAuthGuard, FiefModule, FiefService, Permissions, Public, type FiefAuthFailure } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, createApp } from './fixtures.js';

const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };

/** A feature module that does not import FiefModule: it works only when FiefModule is global. */
@Injectable()
class ProfileReader {
  constructor(readonly fief: FiefService) {}
}

@Controller('feature')
@UseGuards(FiefAuthGuard)
class FeatureController {
  constructor(private readonly reader: ProfileReader) {}

  @Get()
  get() {
    return { realm: this.reader.fief.options.realm };
  }
}

@Module({ controllers: [FeatureController], providers: [ProfileReader] })
class FeatureModule {}

@Controller('app')
class AppController {
  @Get('open')
  @Public()
  open() {
    return { ok: true };
  }

  @Get('default')
  byDefault() {
    return { ok: true };
  }
}

/** Hides forbidden resources instead of answering 403: the override point users subclass. */
@Injectable()
class HidingGuard extends FiefAuthGuard {
  protected override throwForbidden(_context: ExecutionContext, failure: FiefAuthFailure): never {
    throw new NotFoundException(`Not found (${failure.error})`);
  }
}

@Controller('custom')
class CustomController {
  @Get('default')
  @UseGuards(FiefAuthGuard)
  @Permissions('castles:read')
  byDefault() {
    return { ok: true };
  }

  @Get('hidden')
  @UseGuards(HidingGuard)
  @Permissions('castles:delete')
  hidden() {
    return { ok: true };
  }
}

describe('FiefModule registration', () => {
  let dev: FiefDevServer;
  let baseURL: string;
  let anne: string;

  beforeAll(async () => {
    dev = new FiefDevServer();
    baseURL = await dev.start();
    anne = await dev.issueAccessToken({ user: ANNE });
  });

  afterAll(() => dev?.stop());

  describe.each(ADAPTERS)('on %s', (adapter) => {
    it('forRootAsync with ConfigService, isGlobal and globalGuard read beside the factory', async () => {
      const app = await createApp(adapter, {
        imports: [
          ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ FIEF_URL: baseURL, FIEF_ID: CLIENT.clientId, FIEF_SECRET: CLIENT.clientSecret })] }),
          FiefModule.forRootAsync({
            imports: [ConfigModule],
            inject: [ConfigService],
            isGlobal: true,
            globalGuard: true,
            useFactory: (config: ConfigService) => ({
              baseURL: config.getOrThrow<string>('FIEF_URL'),
              clientId: config.getOrThrow<string>('FIEF_ID'),
              clientSecret: config.getOrThrow<string>('FIEF_SECRET'),
              realm: 'castles',
            }),
          }),
          FeatureModule,
        ],
        controllers: [AppController],
      });
      try {
        const server = app.getHttpServer();
        expect((await request(server).get('/app/open')).status).toBe(200);
        const refused = await request(server).get('/app/default');
        expect(refused.status).toBe(401);
        expect(refused.headers['www-authenticate']).toBe('Bearer realm="castles"');
        expect((await request(server).get('/app/default').set('Authorization', `Bearer ${anne}`)).status).toBe(200);
        const feature = await request(server).get('/feature').set('Authorization', `Bearer ${anne}`);
        expect(feature.body).toEqual({ realm: 'castles' });
      } finally {
        await app.close();
      }
    });

    it('boots while Fief is down, and answers 503 (not 401) until it is back', async () => {
      dev.setFault('all', 'down');
      let app: INestApplication | undefined;
      try {
        app = await createApp(adapter, {
          // A short back-off: while Fief is down, it is asked again at most once per cooldown.
          imports: [FiefModule.forRoot({ baseURL, ...CLIENT, globalGuard: true, jwksCooldown: 0.2 })],
          controllers: [AppController],
        });
        const server = app.getHttpServer();
        expect((await request(server).get('/app/open')).status).toBe(200);
        const down = await request(server).get('/app/default').set('Authorization', `Bearer ${anne}`);
        expect(down.status).toBe(503);
        expect(down.headers['retry-after']).toBe('10');
        dev.setFault('all', null);
        await new Promise((resolve) => setTimeout(resolve, 250));
        expect((await request(server).get('/app/default').set('Authorization', `Bearer ${anne}`)).status).toBe(200);
      } finally {
        dev.setFault('all', null);
        await app?.close();
      }
    });
  });

  it('takes tokens from a custom (async) extractor, answers through exceptionFactory, and lets subclasses override', async () => {
    const app = await createApp('express', {
      imports: [
        FiefModule.forRoot({
          baseURL,
          ...CLIENT,
          tokenExtractors: { http: { extract: async (req) => req.headers['x-api-token'] } },
          exceptionFactory: (failure) => new HttpException({ code: failure.error ?? 'unauthenticated' }, failure.status),
        }),
      ],
      controllers: [CustomController],
      providers: [HidingGuard],
    });
    try {
      const server = app.getHttpServer();
      expect((await request(server).get('/custom/default').set('X-Api-Token', anne)).status).toBe(200);
      // The Authorization header is no longer read: that is no credential.
      const none = await request(server).get('/custom/default').set('Authorization', `Bearer ${anne}`);
      expect(none.status).toBe(401);
      expect(none.body).toEqual({ code: 'unauthenticated' });
      expect(none.headers['www-authenticate']).toBe('Bearer realm="fief"');
      const bad = await request(server).get('/custom/default').set('X-Api-Token', 'not-a-token');
      expect(bad.body).toEqual({ code: 'invalid_token' });
      const hidden = await request(server).get('/custom/hidden').set('X-Api-Token', anne);
      expect(hidden.status).toBe(404);
      expect(hidden.body.message).toBe('Not found (insufficient_scope)');
    } finally {
      await app.close();
    }
  });

  it('without globalGuard, routes without @UseGuards stay open', async () => {
    const app = await createApp('express', { imports: [FiefModule.forRoot({ baseURL, ...CLIENT })], controllers: [AppController] });
    try {
      expect((await request(app.getHttpServer()).get('/app/default')).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('without isGlobal, a module that does not import FiefModule cannot use FiefService', async () => {
    const compiling = Test.createTestingModule({ imports: [FiefModule.forRoot({ baseURL, ...CLIENT }), FeatureModule] }).compile();
    await expect(compiling).rejects.toThrow(/FiefService/);
  });

  it('lists every mistake in the options at start-up', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        FiefModule.forRoot({ baseURL: 'example.fief.dev', clientId: '', realm: 'a"b', retryAfter: -1, userInfoCache: {} as never }),
      ],
    }).compile();
    await expect(compiling).rejects.toThrow(
      [
        'Invalid FiefModule options:',
        ' - baseURL must be the http(s) URL of the Fief tenant, e.g. https://example.fief.dev (got "example.fief.dev").',
        ' - clientId must be the ID of the Fief client (a non-empty string).',
        ' - realm must be a non-empty string without quotes, backslashes or control characters.',
        ' - retryAfter must be a positive number.',
        ' - userInfoCache must have get, set and delete methods.',
      ].join('\n'),
    );
  });

  it('passes the client\'s own checks through with the same heading', async () => {
    const compiling = Test.createTestingModule({
      imports: [FiefModule.forRoot({ baseURL: 'https://example.fief.dev?tenant=1', ...CLIENT })],
    }).compile();
    await expect(compiling).rejects.toThrow(/^Invalid FiefModule options:\n - /);
  });
});

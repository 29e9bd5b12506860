/** createFiefSwaggerDocument: the `security` of each operation of real apps, from the guard's own metadata. */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Post, UseGuards, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { ApiBearerAuth, ApiExtension, DocumentBuilder, type OpenAPIObject } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { FiefAuthGuard, FiefModule, OptionalAuth, Permissions, Public } from '../../lib/index.js';
import { createFiefSwaggerDocument } from '../../lib/swagger/index.js';
import { FiefTransportAuthGuard } from '../../lib/transports/index.js';

// Nothing listens there: building a document must not reach Fief.
const fief = { baseURL: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret' };
const BEARER = [{ fief: [] }];

@Controller('castles')
@UseGuards(FiefAuthGuard)
class CastlesController {
  @Get()
  @Permissions('castles:read')
  list() {}

  @Post()
  @Permissions('castles:create')
  @ApiExtension('x-audit', true)
  create() {}

  @Get('public')
  @Public()
  open() {}

  @Get('optional')
  @OptionalAuth()
  optional() {}
}

// The situation of nestjs/swagger#892 and #1319: a class-level @ApiBearerAuth() marks @Public() routes too.
@Controller('legacy')
@ApiBearerAuth()
@UseGuards(FiefTransportAuthGuard)
class LegacyController {
  @Get('open')
  @Public()
  open() {}

  @Get('closed')
  closed() {}
}

@Controller('mixed')
class MixedController {
  @Get('guarded')
  @UseGuards(FiefAuthGuard)
  guarded() {}

  @Get('free')
  free() {}

  @Get('own')
  @ApiBearerAuth('other')
  own() {}
}

async function documentOf(metadata: ModuleMetadata, config = new DocumentBuilder().setTitle('Castles').build()) {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app: INestApplication = moduleRef.createNestApplication(new ExpressAdapter(), { logger: false });
  app.setGlobalPrefix('api');
  await app.init();
  try {
    return await createFiefSwaggerDocument(app, config);
  } finally {
    await app.close();
  }
}

const security = (document: OpenAPIObject, method: string, path: string) => {
  const operation = (document.paths[path] as Record<string, any>)?.[method];
  if (!operation) throw new Error(`no ${method} ${path} in ${Object.keys(document.paths).join(', ')}`);
  return operation.security;
};

describe('createFiefSwaggerDocument with per-controller and per-route guards', () => {
  let document: OpenAPIObject;

  beforeAll(async () => {
    document = await documentOf({ imports: [FiefModule.forRoot(fief)], controllers: [CastlesController, LegacyController, MixedController] });
  });

  it('adds the bearer scheme', () => {
    expect(document.components?.securitySchemes?.fief).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }));
  });

  it.each([
    ['get', '/api/castles', BEARER],
    ['post', '/api/castles', BEARER],
    ['get', '/api/castles/public', undefined],
    ['get', '/api/castles/optional', [{ fief: [] }, {}]],
    ['get', '/api/legacy/open', undefined],
    ['get', '/api/legacy/closed', BEARER],
    ['get', '/api/mixed/guarded', BEARER],
    ['get', '/api/mixed/free', undefined],
    ['get', '/api/mixed/own', [{ other: [] }]],
  ])('%s %s has security %j', (method, path, expected) => {
    expect(security(document, method, path)).toEqual(expected);
  });

  it('documents the refusals of guarded operations, naming what they require, and of no others', () => {
    const operation = (path: string, method = 'get') => (document.paths[path] as Record<string, any>)[method];
    expect(operation('/api/castles').responses['401'].description).toContain('WWW-Authenticate');
    expect(operation('/api/castles').responses['403'].description).toContain('permission castles:read');
    expect(operation('/api/castles', 'post').responses['403'].description).toContain('permission castles:create');
    expect(operation('/api/legacy/closed').responses['401']).toBeDefined();
    expect(operation('/api/legacy/closed').responses['403']).toBeUndefined();
    expect(operation('/api/castles/public').responses['401']).toBeUndefined();
    expect(operation('/api/mixed/free').responses['401']).toBeUndefined();
  });

  it('leaves no marker in the document, keeps the routes own extensions, and restores the metadata', () => {
    expect(JSON.stringify(document)).not.toContain('x-fief-route');
    expect((document.paths['/api/castles'] as any).post['x-audit']).toBe(true);
    expect(Reflect.getMetadata('swagger/apiExtension', CastlesController.prototype.list)).toBeUndefined();
    expect(Reflect.getMetadata('swagger/apiExtension', CastlesController.prototype.create)).toEqual({ 'x-audit': true });
  });
});

describe('createFiefSwaggerDocument with FiefModule globalGuard', () => {
  it('marks every route but @Public() ones, which opt out of a document-wide requirement with security: []', async () => {
    const config = new DocumentBuilder().addSecurityRequirements('fief').build();
    const document = await documentOf({ imports: [FiefModule.forRoot({ ...fief, globalGuard: true })], controllers: [MixedController, CastlesController] }, config);
    expect(security(document, 'get', '/api/mixed/free')).toEqual(BEARER);
    expect(security(document, 'get', '/api/mixed/own')).toEqual(BEARER);
    expect(security(document, 'get', '/api/castles/optional')).toEqual([{ fief: [] }, {}]);
    expect(security(document, 'get', '/api/castles/public')).toEqual([]);
  });

  it('counts the guards given in the guards option as Fief guards', async () => {
    class ApiKeyGuard {
      canActivate() {
        return true;
      }
    }
    @Controller('keyed')
    @UseGuards(ApiKeyGuard)
    class KeyedController {
      @Get()
      list() {}
    }
    const moduleRef = await Test.createTestingModule({ imports: [FiefModule.forRoot(fief)], controllers: [KeyedController] }).compile();
    const app = moduleRef.createNestApplication(new ExpressAdapter(), { logger: false });
    await app.init();
    try {
      const config = new DocumentBuilder().build();
      expect(security(await createFiefSwaggerDocument(app, config), 'get', '/keyed')).toBeUndefined();
      const document = await createFiefSwaggerDocument(app, config, { guards: [ApiKeyGuard], securitySchemeName: 'castles', refusalResponses: false });
      expect(security(document, 'get', '/keyed')).toEqual([{ castles: [] }]);
      expect(document.components?.securitySchemes?.castles).toBeDefined();
      expect((document.paths['/keyed'] as Record<string, any>).get.responses['401']).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('leaves every route alone when no Fief guard is in the app', async () => {
    const document = await documentOf({ imports: [FiefModule.forRoot(fief)], controllers: [MixedController] }, new DocumentBuilder().build());
    expect(security(document, 'get', '/api/mixed/free')).toBeUndefined();
    expect(security(document, 'get', '/api/mixed/own')).toEqual([{ other: [] }]);
  });
});

describe('createFiefSwaggerDocument with several tenants', () => {
  it('documents the same security as with one tenant (the guards and decorators do not change)', async () => {
    const tenants = {
      acme: { baseURL: 'http://127.0.0.1:9/acme', clientId: 'acme' },
      globex: { baseURL: 'http://127.0.0.1:9/globex', clientId: 'globex' },
    };
    const one = await documentOf({ imports: [FiefModule.forRoot(fief)], controllers: [CastlesController, MixedController] });
    const several = await documentOf({ imports: [FiefModule.forRoot({ tenants })], controllers: [CastlesController, MixedController] });
    expect(several.paths).toEqual(one.paths);
    expect(security(several, 'get', '/api/castles')).toEqual(BEARER);
  });
});

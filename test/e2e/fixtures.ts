/** Controllers and helpers shared by the e2e specs: one app per adapter against a live FiefDevServer. */
import { Controller, Get, UseGuards, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  AccessToken,
  AccessTokenInfo,
  Acr,
  CurrentUser,
  FiefAuthGuard,
  OptionalAuth,
  Permissions,
  Public,
  Scopes,
  type FiefAccessTokenInfo,
  type FiefUserInfo,
} from '../../lib/index.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: AdapterName[] = ['express', 'fastify'];

export const ANNE = 'anne@bretagne.duchy';
export const GUEST = 'guest@example.com';

/** Every decorator of the module on one controller, behind `FiefAuthGuard`. */
@Controller('guarded')
@UseGuards(FiefAuthGuard)
@Scopes('openid')
export class GuardedController {
  static calls = 0;

  @Get('plain')
  plain(@AccessTokenInfo() info: FiefAccessTokenInfo, @AccessToken() token: string) {
    return { id: info.id, permissions: info.permissions, sameToken: token === info.access_token };
  }

  @Get('read')
  @Permissions('castles:read')
  read() {
    return { ok: true };
  }

  @Get('create')
  @Permissions('castles:create')
  create() {
    return { ok: true };
  }

  @Get('scope')
  @Scopes('castles')
  scope() {
    return { ok: true };
  }

  @Get('acr')
  @Acr('1')
  acr() {
    return { ok: true };
  }

  @Get('me')
  me(@CurrentUser() user: FiefUserInfo) {
    GuardedController.calls++;
    return { email: user.email, sub: user.sub };
  }

  @Get('public')
  @Public()
  open() {
    return { public: true };
  }

  @Get('optional')
  @OptionalAuth()
  optional(@AccessTokenInfo() info?: FiefAccessTokenInfo) {
    return { id: info?.id ?? null };
  }

  @Get('optional-me')
  @OptionalAuth()
  @Permissions('castles:read')
  optionalMe(@CurrentUser() user?: FiefUserInfo) {
    return { email: user?.email ?? null };
  }
}

/** The same routes behind `AuthGuard('fief')` (the passport strategy). */
@Controller('passport')
@UseGuards(AuthGuard('fief'))
export class PassportController {
  static calls = 0;

  @Get('plain')
  plain(@AccessTokenInfo() info: FiefAccessTokenInfo) {
    return { id: info.id };
  }

  @Get('create')
  @Permissions('castles:create')
  create() {
    return { ok: true };
  }

  @Get('acr')
  @Acr('1')
  acr() {
    return { ok: true };
  }

  @Get('me')
  me(@CurrentUser() user: FiefUserInfo) {
    PassportController.calls++;
    return { email: user.email };
  }
}

/** Builds, initializes and readies an app on the given adapter (no port: supertest drives the server). */
export async function createApp(adapter: AdapterName, metadata: ModuleMetadata): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
    logger: false,
  });
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** A token with a flipped signature byte: well-formed, never valid. */
export function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const flipped = (signature[5] === 'A' ? 'B' : 'A') + signature.slice(6);
  return `${header}.${payload}.${signature.slice(0, 5)}${flipped}`;
}

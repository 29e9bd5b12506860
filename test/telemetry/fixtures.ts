/** A Nest app that makes every kind of call to Fief, behind the module's own guard. */
import { Body, Controller, Get, Patch, Post, UseGuards, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { AccessToken, CurrentUser, FiefAuthGuard, FiefService, Permissions, Public, type FiefUserInfo } from '../../lib/index.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: AdapterName[] = ['express', 'fastify'];
export const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };
export const ANNE = 'anne@bretagne.duchy';
export const GUEST = 'guest@example.com';

@Controller('t')
@UseGuards(FiefAuthGuard)
export class TelemetryController {
  constructor(private readonly fief: FiefService) {}

  @Get('plain')
  plain() {
    return { ok: true };
  }

  @Get('create')
  @Permissions('castles:create')
  create() {
    return { ok: true };
  }

  @Get('me')
  me(@CurrentUser() user: FiefUserInfo) {
    return { email: user.email };
  }

  @Patch('profile')
  async profile(@AccessToken() token: string, @Body() body: { fields: Record<string, unknown> }) {
    const user = await this.fief.updateProfile(token, { fields: body.fields });
    return { fields: user.fields };
  }

  /** The token endpoint, as a login callback calls it; Fief's refusal is returned, not thrown. */
  @Post('exchange')
  @Public()
  async exchange(@Body() body: { code: string; redirectUri: string; codeVerifier: string }) {
    try {
      const [tokens] = await this.fief.authCallback(body.code, body.redirectUri, { codeVerifier: body.codeVerifier });
      return { ok: typeof tokens.access_token === 'string' };
    } catch (error) {
      return { ok: false, error: (error as Error).name };
    }
  }

  @Get('unguarded')
  @Public()
  unguarded() {
    return { ok: true };
  }
}

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

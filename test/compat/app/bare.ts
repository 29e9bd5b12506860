/**
 * The same kind of app without any optional peer installed (no passport, @nestjs/passport, swagger,
 * GraphQL, WebSockets, microservices, oidc-provider): its compat project type-checks it with
 * `skipLibCheck: false` under each module resolution it lists, then runs it. Fief is down the whole
 * time (nothing listens on its base URL): the app must still boot and refuse anonymous callers.
 */
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  AccessTokenInfo,
  CurrentUser,
  FiefAuthGuard,
  FiefModule,
  FiefService,
  Permissions,
  Public,
  createFiefSwaggerDocument,
  type FiefAccessTokenInfo,
  type FiefUserInfo,
} from 'nestjs-fief';
// Types only: loading this entry needs oidc-provider, which this app does not have.
import type { FiefDevServer, FiefDevServerOptions } from 'nestjs-fief/testing';

@Controller()
class CastlesController {
  constructor(private readonly fief: FiefService) {}

  @Get('health')
  @Public()
  health() {
    return { ok: true, realm: this.fief.options.realm };
  }

  @Get('castles')
  @UseGuards(FiefAuthGuard)
  @Permissions('castles:read')
  list(@AccessTokenInfo() info: FiefAccessTokenInfo) {
    return info.permissions;
  }

  @Get('me')
  @UseGuards(FiefAuthGuard)
  me(@CurrentUser() user: FiefUserInfo) {
    return user.email;
  }
}

@Module({
  imports: [FiefModule.forRoot({ baseURL: 'http://127.0.0.1:9', clientId: 'client', clientSecret: 'secret' })],
  controllers: [CastlesController],
})
class AppModule {}

// Compiles without @nestjs/swagger; only calling it needs the peer.
export const documentOf = (app: Parameters<typeof createFiefSwaggerDocument>[0]) =>
  createFiefSwaggerDocument(app, { openapi: '3.0.0', info: { title: 'Castles', version: '1' } });
export type DevServerTypes = [FiefDevServer, FiefDevServerOptions];

async function main() {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  try {
    const health = await fetch(`${url}/health`);
    const anonymous = await fetch(`${url}/castles`);
    console.log(
      JSON.stringify({
        node: process.versions.node,
        health: { status: health.status, body: await health.json() },
        anonymous: { status: anonymous.status, body: await anonymous.json() },
      }),
    );
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

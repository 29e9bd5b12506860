/**
 * A consumer app of the packed `nestjs-fief`, compiled by each compat project's own TypeScript (CommonJS
 * or ESM, Nest 11 or 12) with `skipLibCheck: false`, then run under Node 20 and Node 22. It prints one
 * JSON line of what it saw; `compat.spec.ts` asserts on it. No top-level `await`: the same source is
 * CommonJS in two of the projects.
 */
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ClientProxyFactory, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import { AuthGuard } from '@nestjs/passport';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { io } from 'socket.io-client';
import { DocumentBuilder, type OpenAPIObject } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import {
  AccessToken,
  AccessTokenInfo,
  createFiefSwaggerDocument,
  CurrentUser,
  FiefAuthGuard,
  FiefModule,
  FiefTransportAuthGuard,
  Permissions,
  Public,
  type FiefAccessTokenInfo,
  type FiefUserInfo,
} from 'nestjs-fief';
import { FiefHealthIndicator } from 'nestjs-fief/health';
import { FiefDevServer, type FiefDevLoginResult } from 'nestjs-fief/testing';
import { createServer } from 'node:net';
import { firstValueFrom } from 'rxjs';

@Controller()
class CastlesController {
  @Get('health')
  @Public()
  health() {
    return { ok: true };
  }

  @Get('castles')
  @UseGuards(FiefAuthGuard)
  @Permissions('castles:read')
  list(@AccessTokenInfo() info: FiefAccessTokenInfo, @AccessToken() token: string) {
    return { castles: ['Nantes'], permissions: info.permissions, tokenSent: token.length > 0 };
  }

  @Get('castles/new')
  @UseGuards(FiefAuthGuard)
  @Permissions('castles:create')
  create() {
    return { created: true };
  }

  @Get('passport/castles/new')
  @UseGuards(AuthGuard('fief'))
  @Permissions('castles:create')
  passportCreate(@CurrentUser() user: FiefUserInfo) {
    return { email: user.email };
  }

  @Get('me')
  @UseGuards(FiefAuthGuard)
  me(@CurrentUser() user: FiefUserInfo) {
    return { email: user.email };
  }
}

/** Readiness through this project's @nestjs/terminus (11 or 12) and `nestjs-fief/health`. */
@Controller('ready')
class ReadyController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly fief: FiefHealthIndicator,
  ) {}

  @Get()
  @Public()
  @HealthCheck()
  check() {
    return this.health.check([() => this.fief.isHealthy('fief')]);
  }
}

@Controller()
@UseGuards(FiefTransportAuthGuard)
class CastlesHandlers {
  @MessagePattern('castles.create')
  @Permissions('castles:create')
  create(@Payload() payload: { name: string }, @AccessTokenInfo() info: FiefAccessTokenInfo) {
    return { created: payload.name, permissions: info.permissions };
  }
}

/** A TCP microservice guarded by FiefTransportAuthGuard: what each message gets back, answer or refusal. */
async function checkMicroservice(dev: FiefDevServer) {
  @Module({
    imports: [FiefModule.forRoot({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' })],
    controllers: [CastlesHandlers],
  })
  class MicroserviceModule {}

  const port = await freePort();
  const microservice = await NestFactory.createMicroservice(MicroserviceModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
    logger: false,
  });
  await microservice.listen();
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  try {
    await client.connect();
    const send = (payload: object) =>
      firstValueFrom(client.send('castles.create', payload)).then(
        (answer: unknown) => ({ answer }),
        (refusal: unknown) => ({ refusal }),
      );
    return {
      granted: await send({ accessToken: await dev.issueAccessToken({ user: 'anne@bretagne.duchy' }), name: 'Brest' }),
      anonymous: await send({ name: 'Brest' }),
      forbidden: await send({ accessToken: await dev.issueAccessToken({ user: 'guest@example.com' }), name: 'Brest' }),
    };
  } finally {
    client.close();
    await microservice.close();
  }
}

@WebSocketGateway()
@UseGuards(FiefTransportAuthGuard)
class CastlesGateway {
  @SubscribeMessage('castles.create')
  @Permissions('castles:create')
  create(@AccessTokenInfo() info: FiefAccessTokenInfo) {
    return { created: true, permissions: info.permissions };
  }
}

/** A socket.io gateway guarded by FiefTransportAuthGuard: the acknowledgement or the `exception` event of each message. */
async function checkGateway(dev: FiefDevServer) {
  @Module({
    imports: [FiefModule.forRoot({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' })],
    providers: [CastlesGateway],
  })
  class GatewayModule {}

  const app = await NestFactory.create(GatewayModule, { logger: false });
  const port = await freePort();
  await app.listen(port, '127.0.0.1');
  const emit = async (token?: string) => {
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, auth: token ? { token } : {} });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      return await new Promise<unknown>((resolve) => {
        socket.once('exception', (exception: unknown) => resolve({ exception }));
        socket.emit('castles.create', {}, (ack: unknown) => resolve({ ack }));
      });
    } finally {
      socket.disconnect();
    }
  };
  try {
    return {
      granted: await emit(await dev.issueAccessToken({ user: 'anne@bretagne.duchy' })),
      anonymous: await emit(),
      forbidden: await emit(await dev.issueAccessToken({ user: 'guest@example.com' })),
    };
  } finally {
    await app.close();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `name=value` pairs of a response's Set-Cookie headers, as a browser would send them back. */
function cookiesOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
}

interface Answer {
  status: number;
  body: unknown;
  challenge: string | null;
}

async function call(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, challenge: response.headers.get('www-authenticate') };
}

async function checkAdapter(dev: FiefDevServer, adapter: 'express' | 'fastify') {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;

  @Module({
    imports: [
      TerminusModule.forRoot({ logger: false }),
      FiefModule.forRoot({
        baseURL: dev.baseURL,
        clientId: 'fief-dev-client',
        clientSecret: 'fief-dev-secret',
        login: { redirectUri: `${origin}/auth/callback`, cookieSecret: 'compat-cookie-secret-of-at-least-32-bytes' },
      }),
    ],
    controllers: [CastlesController, ReadyController],
    providers: [FiefHealthIndicator],
  })
  class AppModule {}

  dev.resetRequestCounts();
  const app: INestApplication = await NestFactory.create(
    AppModule,
    adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
    { logger: false },
  );
  await app.listen(port, '127.0.0.1');
  const requestsAtBoot = Object.values(dev.requestCounts).reduce((sum, count) => sum + count, 0);
  try {
    const anne = { authorization: `Bearer ${await dev.issueAccessToken({ user: 'anne@bretagne.duchy' })}` };
    const guest = { authorization: `Bearer ${await dev.issueAccessToken({ user: 'guest@example.com' })}` };

    // The app's own login flow, headless: /auth/login, the dev server's login, /auth/callback, then the session.
    const start = await fetch(`${origin}/auth/login?returnTo=/me`, { redirect: 'manual' });
    const login: FiefDevLoginResult = await dev.login(start.headers.get('location')!, { email: 'anne@bretagne.duchy' });
    const callback = await fetch(login.url, { redirect: 'manual', headers: { cookie: cookiesOf(start) } });

    // Typed structurally by nestjs-fief, the document must still be what this @nestjs/swagger calls a document.
    const document: OpenAPIObject = await createFiefSwaggerDocument(app, new DocumentBuilder().setTitle('Castles').build());

    return {
      requestsAtBoot,
      swagger: {
        scheme: document.components?.securitySchemes?.fief,
        castles: document.paths['/castles']?.get?.security,
        health: document.paths['/health']?.get?.security ?? null,
      },
      health: await call(`${origin}/health`),
      ready: await call(`${origin}/ready`),
      anonymous: await call(`${origin}/castles`),
      granted: await call(`${origin}/castles`, anne),
      forbidden: await call(`${origin}/castles/new`, guest),
      passportAnonymous: await call(`${origin}/passport/castles/new`),
      passportGranted: await call(`${origin}/passport/castles/new`, anne),
      passportForbidden: await call(`${origin}/passport/castles/new`, guest),
      login: { start: start.status, callback: callback.status, returnTo: callback.headers.get('location') },
      session: await call(`${origin}/me`, { cookie: cookiesOf(callback) }),
    };
  } finally {
    await app.close();
  }
}

async function main() {
  const dev = new FiefDevServer();
  await dev.start();
  try {
    const results = {
      node: process.versions.node,
      express: await checkAdapter(dev, 'express'),
      fastify: await checkAdapter(dev, 'fastify'),
      microservice: await checkMicroservice(dev),
      gateway: await checkGateway(dev),
    };
    console.log(JSON.stringify(results));
  } finally {
    await dev.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

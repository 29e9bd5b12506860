/** FiefTransportAuthGuard on microservice handlers over a real TCP transport, against a live FiefDevServer. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, UseGuards, type INestMicroservice } from '@nestjs/common';
import { ClientProxyFactory, Ctx, MessagePattern, Payload, Transport, type ClientProxy, type TcpContext } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { AddressInfo, Server } from 'node:net';
import { firstValueFrom } from 'rxjs';
import {
  AccessToken,
  AccessTokenInfo,
  FiefModule,
  Permissions,
  Public,
  type FiefAccessTokenInfo,
  type FiefAuthenticatedRequest,
} from '../../lib/index.js';
import { FiefTransportAuthGuard } from '../../lib/transports/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';

@Controller()
@UseGuards(FiefTransportAuthGuard)
class CastlesHandlers {
  @MessagePattern('castles.list')
  @Permissions('castles:read')
  list(
    @Payload() payload: { page: number },
    @Ctx() context: TcpContext & FiefAuthenticatedRequest,
    @AccessTokenInfo() info: FiefAccessTokenInfo,
    @AccessToken() token: string,
  ) {
    // The parameter decorators read the per-message context on microservices, as on HTTP.
    const sameToken = token === context.fief!.accessToken && info === context.fief!.accessTokenInfo;
    return { page: payload.page, user: info.id, sameToken };
  }

  @MessagePattern('castles.create')
  @Permissions('castles:create')
  create(@Payload() payload: { name: string }) {
    return { created: payload.name };
  }

  @MessagePattern('health')
  @Public()
  health() {
    return 'ok';
  }
}

describe('FiefTransportAuthGuard on microservice handlers (TCP)', () => {
  let dev: FiefDevServer;
  let microservice: INestMicroservice;
  let client: ClientProxy;
  let reader: string;

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [FiefModule.forRoot({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret', isGlobal: true, jwksCooldown: 0 })],
      controllers: [CastlesHandlers],
    }).compile();
    microservice = moduleRef.createNestMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 }, logger: false });
    await microservice.listen();
    const { port } = microservice.unwrap<Server>().address() as AddressInfo;
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
    reader = await dev.issueAccessToken({ user: 'guest@example.com', permissions: ['castles:read'] });
  });

  afterAll(async () => {
    await client?.close();
    await microservice?.close();
    await dev?.stop();
  });

  const send = (pattern: string, payload: unknown) => firstValueFrom(client.send(pattern, payload));

  it('answers a guarded message whose payload carries accessToken with the permission', async () => {
    await expect(send('castles.list', { accessToken: reader, page: 2 })).resolves.toEqual({
      page: 2,
      user: dev.findUser('guest@example.com')!.id,
      sameToken: true,
    });
  });

  it('refuses a message without accessToken with a 401 RpcException', async () => {
    await expect(send('castles.list', { page: 1 })).rejects.toEqual({
      status: 'error',
      statusCode: 401,
      message: expect.stringContaining('access token is required'),
    });
  });

  it('refuses a payload that is not an object as a missing token', async () => {
    await expect(send('castles.list', 'just a string')).rejects.toMatchObject({ statusCode: 401 });
  });

  it('refuses a tampered token with invalid_token', async () => {
    await expect(send('castles.list', { accessToken: `${reader.slice(0, -4)}AAAA` })).rejects.toMatchObject({
      statusCode: 401,
      error: 'invalid_token',
    });
  });

  it('refuses a non-string accessToken with invalid_request', async () => {
    await expect(send('castles.list', { accessToken: [reader] })).rejects.toMatchObject({ statusCode: 400, error: 'invalid_request' });
  });

  it('refuses a message the token has no permission for with insufficient_scope', async () => {
    await expect(send('castles.create', { accessToken: reader, name: 'Brest' })).rejects.toMatchObject({
      statusCode: 403,
      error: 'insufficient_scope',
      message: expect.stringContaining('castles:create'),
    });
  });

  it('lets a @Public() handler through without a token', async () => {
    await expect(send('health', {})).resolves.toBe('ok');
  });

  // Last: it rotates the dev server's signing key.
  it('answers 503 with retryAfter when Fief is needed (a new signing key) and down', async () => {
    await dev.rotateSigningKey();
    const token = await dev.issueAccessToken({ user: 'guest@example.com', permissions: ['castles:read'] });
    dev.setFault('all', 'down');
    try {
      await expect(send('castles.list', { accessToken: token })).rejects.toEqual({
        status: 'error',
        statusCode: 503,
        message: expect.stringContaining('Fief cannot be reached'),
        retryAfter: 10,
      });
    } finally {
      dev.setFault('all', null);
    }
  });
});

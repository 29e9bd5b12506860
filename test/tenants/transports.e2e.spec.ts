/**
 * Transports get tenants through the same pipeline: GraphQL resolvers, a socket.io gateway and a TCP
 * microservice answer each tenant's token with its name, and refuse a token of no tenant without any fetch.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, UseGuards, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import request from 'supertest';
import { ClientProxyFactory, MessagePattern, Transport, type ClientProxy } from '@nestjs/microservices';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import type { AddressInfo, Server } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { io, type Socket } from 'socket.io-client';
import { AccessTokenInfo, FiefModule, FiefTenant, Permissions, type FiefAccessTokenInfo } from '../../lib/index.js';
import { FiefTransportAuthGuard } from '../../lib/transports/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ANNE } from '../e2e/fixtures.js';
import { ran, requestsTo, TENANTS, tenantsOption } from './tenant-fixtures.js';

@WebSocketGateway()
@UseGuards(FiefTransportAuthGuard)
class CastlesGateway {
  @SubscribeMessage('whoami')
  @Permissions('castles:read')
  who(@FiefTenant() tenant: string, @AccessTokenInfo() info: FiefAccessTokenInfo) {
    ran.push('ws');
    return { tenant, id: info.id };
  }
}

@Controller()
@UseGuards(FiefTransportAuthGuard)
class CastlesHandlers {
  @MessagePattern('whoami')
  @Permissions('castles:read')
  who(@FiefTenant() tenant: string, @AccessTokenInfo() info: FiefAccessTokenInfo) {
    ran.push('rpc');
    return { tenant, id: info.id };
  }
}

@Resolver()
@UseGuards(FiefTransportAuthGuard)
class WhoamiResolver {
  @Query('whoami')
  @Permissions('castles:read')
  whoami(@FiefTenant() tenant: string) {
    ran.push('graphql');
    return tenant;
  }
}

describe('tenants on GraphQL resolvers', () => {
  let dev: FiefDevServer;
  let app: INestApplication;

  beforeAll(async () => {
    dev = new FiefDevServer({ tenants: { acme: {}, globex: {} } });
    await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [
        FiefModule.forRoot({ tenants: tenantsOption(dev), isGlobal: true }),
        GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, typeDefs: 'type Query { whoami: String! }' }),
      ],
      providers: [WhoamiResolver],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const whoami = (token: string) =>
    request(app.getHttpServer()).post('/graphql').set('Authorization', `Bearer ${token}`).send({ query: '{ whoami }' });

  it("answers each tenant's token with its name, and refuses a token of no tenant without a fetch", async () => {
    for (const name of TENANTS) {
      const res = await whoami(await dev.tenant(name).issueAccessToken({ user: ANNE }));
      expect(res.body.data).toEqual({ whoami: name });
    }
    ran.length = 0;
    for (const tenant of [dev.tenant(), ...TENANTS.map((name) => dev.tenant(name))]) tenant.resetRequestCounts();
    const refused = await whoami(await dev.tenant().issueAccessToken({ user: ANNE }));
    expect(refused.body.errors?.[0]?.extensions?.originalError?.statusCode ?? refused.body.errors?.[0]?.extensions?.status).toBe(401);
    expect([dev.tenant(), ...TENANTS.map((name) => dev.tenant(name))].reduce((sum, t) => sum + requestsTo(t), 0)).toBe(0);
    expect(ran).toEqual([]);
  });
});

describe('tenants on socket.io and TCP microservices', () => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let microservice: INestMicroservice;
  let client: ClientProxy;
  let url: string;
  const sockets: Socket[] = [];
  const totalRequests = () => [dev.tenant(), ...TENANTS.map((name) => dev.tenant(name))].reduce((sum, t) => sum + requestsTo(t), 0);

  beforeAll(async () => {
    dev = new FiefDevServer({ tenants: { acme: {}, globex: {} } });
    await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [FiefModule.forRoot({ tenants: tenantsOption(dev), isGlobal: true })],
      providers: [CastlesGateway],
      controllers: [CastlesHandlers],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    microservice = app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const { port } = microservice.unwrap<Server>().address() as AddressInfo;
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
  });

  beforeEach(() => {
    ran.length = 0;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await client?.close();
    await app?.close();
    await dev?.stop();
  });

  async function emit(token: string): Promise<unknown> {
    const socket = io(url, { transports: ['websocket'], reconnection: false, auth: { token } });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return new Promise((resolve) => {
      socket.once('exception', (exception: unknown) => resolve({ exception }));
      socket.emit('whoami', {}, (ack: unknown) => resolve(ack));
    });
  }

  const send = (token: string) => firstValueFrom(client.send('whoami', { accessToken: token })).catch((error: unknown) => ({ error }));

  it.each(TENANTS)("answers %s's token with its name on both transports", async (name) => {
    const token = await dev.tenant(name).issueAccessToken({ user: ANNE });
    const expected = { tenant: name, id: dev.tenant(name).findUser(ANNE)!.id };
    expect(await emit(token)).toEqual(expected);
    expect(await send(token)).toEqual(expected);
  });

  it('refuses a token of no configured tenant with 401 on both transports, fetching nothing', async () => {
    for (const tenant of [dev.tenant(), ...TENANTS.map((name) => dev.tenant(name))]) tenant.resetRequestCounts();
    const foreign = await dev.tenant().issueAccessToken({ user: ANNE });
    expect(await emit(foreign)).toEqual({ exception: expect.objectContaining({ statusCode: 401, error: 'invalid_token' }) });
    expect(await send(foreign)).toEqual({ error: expect.objectContaining({ statusCode: 401, error: 'invalid_token' }) });
    expect(totalRequests()).toBe(0);
    expect(ran).toEqual([]);
  });
});

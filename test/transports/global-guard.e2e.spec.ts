/** FiefTransportAuthGuard as the app-wide guard (APP_GUARD) of an app with HTTP routes and a socket.io gateway. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { FiefModule, Permissions, Public } from '../../lib/index.js';
import { FiefTransportAuthGuard } from '../../lib/transports/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';

@Controller('castles')
class CastlesController {
  @Get()
  @Permissions('castles:read')
  list() {
    return ['Nantes'];
  }

  @Get('health')
  @Public()
  health() {
    return { ok: true };
  }
}

@WebSocketGateway()
class CastlesGateway {
  @SubscribeMessage('castles')
  @Permissions('castles:read')
  castles() {
    return ['Nantes'];
  }
}

describe('FiefTransportAuthGuard as APP_GUARD over HTTP and socket.io', () => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;
  let reader: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [FiefModule.forRoot({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' })],
      controllers: [CastlesController],
      providers: [CastlesGateway, { provide: APP_GUARD, useClass: FiefTransportAuthGuard }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    reader = await dev.issueAccessToken({ user: 'guest@example.com', permissions: ['castles:read'] });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await app?.close();
    await dev?.stop();
  });

  async function message(token?: string): Promise<unknown> {
    const socket = io(url, { transports: ['websocket'], reconnection: false, auth: token ? { token } : {} });
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once('exception', (exception) => resolve({ exception }));
      socket.emit('castles', null, (ack: unknown) => resolve({ ack }));
    });
  }

  it('guards HTTP routes', async () => {
    await request(app.getHttpServer()).get('/castles').expect(401);
    await request(app.getHttpServer()).get('/castles').set('Authorization', `Bearer ${reader}`).expect(200, ['Nantes']);
    await request(app.getHttpServer()).get('/castles/health').expect(200);
  });

  it('guards gateway messages', async () => {
    expect(await message()).toEqual({ exception: expect.objectContaining({ statusCode: 401 }) });
    expect(await message(reader)).toEqual({ ack: ['Nantes'] });
  });
});

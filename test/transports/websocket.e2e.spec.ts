/** FiefTransportAuthGuard on a socket.io gateway, against a live FiefDevServer over real sockets. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { UseGuards, type INestApplication } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import { io, type Socket } from 'socket.io-client';
import { FiefModule, Permissions, Public, type FiefAuthenticatedRequest } from '../../lib/index.js';
import { FiefTransportAuthGuard, type FiefTransportError } from '../../lib/transports/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';

@WebSocketGateway()
@UseGuards(FiefTransportAuthGuard)
class CastlesGateway {
  @SubscribeMessage('castles')
  @Permissions('castles:read')
  castles(@ConnectedSocket() client: FiefAuthenticatedRequest) {
    return { castles: ['Nantes'], user: client.fief!.accessTokenInfo.id };
  }

  @SubscribeMessage('create')
  @Permissions('castles:create')
  create(@MessageBody() name: string) {
    return { created: name };
  }

  @SubscribeMessage('ping')
  @Public()
  ping() {
    return 'pong';
  }
}

describe('FiefTransportAuthGuard on a socket.io gateway', () => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;
  let reader: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    const moduleRef = await Test.createTestingModule({
      imports: [FiefModule.forRoot({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret', isGlobal: true })],
      providers: [CastlesGateway],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    reader = await dev.issueAccessToken({ user: 'guest@example.com', permissions: ['castles:read'] });
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  async function connect(options: { token?: unknown; header?: string; query?: Record<string, string> } = {}): Promise<Socket> {
    const socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      auth: options.token === undefined ? {} : { token: options.token },
      extraHeaders: options.header ? { authorization: options.header } : {},
      query: options.query,
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  }

  /** Emits and resolves with the acknowledgement, or with the `exception` event the guard's refusal sends. */
  function call(socket: Socket, event: string, data?: unknown): Promise<{ ack?: unknown; exception?: FiefTransportError }> {
    return new Promise((resolve) => {
      socket.once('exception', (exception: FiefTransportError) => resolve({ exception }));
      socket.emit(event, data, (ack: unknown) => resolve({ ack }));
    });
  }

  it('answers a guarded message when the handshake carries auth.token with the permission', async () => {
    const socket = await connect({ token: reader });
    const result = await call(socket, 'castles');
    expect(result).toEqual({ ack: { castles: ['Nantes'], user: dev.findUser('guest@example.com')!.id } });
  });

  it('reads the Authorization header of the handshake too', async () => {
    const socket = await connect({ header: `Bearer ${reader}` });
    expect((await call(socket, 'castles')).ack).toMatchObject({ castles: ['Nantes'] });
  });

  it('refuses a message without a token with a 401 exception event; the connection stays open', async () => {
    const socket = await connect();
    const result = await call(socket, 'castles');
    expect(result.exception).toEqual({ status: 'error', statusCode: 401, message: expect.stringContaining('access token is required') });
    expect(socket.connected).toBe(true);
    expect(await call(socket, 'ping')).toEqual({ ack: 'pong' });
  });

  it('refuses a tampered token with invalid_token', async () => {
    const socket = await connect({ token: `${reader.slice(0, -4)}AAAA` });
    expect((await call(socket, 'castles')).exception).toMatchObject({ status: 'error', statusCode: 401, error: 'invalid_token' });
  });

  it('refuses a message the token has no permission for with insufficient_scope', async () => {
    const socket = await connect({ token: reader });
    const result = await call(socket, 'create', 'Brest');
    expect(result.exception).toMatchObject({ statusCode: 403, error: 'insufficient_scope', message: expect.stringContaining('castles:create') });
  });

  it.each([
    ['auth.token and the header at once', { token: 'a', header: 'Bearer b' }],
    ['a token in the handshake URL', { query: { access_token: 'a' } }],
    ['a non-string auth.token', { token: ['a', 'b'] }],
  ])('refuses %s with invalid_request (400)', async (_name, options) => {
    const socket = await connect(options);
    expect((await call(socket, 'castles')).exception).toMatchObject({ statusCode: 400, error: 'invalid_request' });
  });

  it('refuses an expired token', async () => {
    const expired = await dev.issueAccessToken({ user: 'guest@example.com', claims: { exp: Math.floor(Date.now() / 1000) - 120 } });
    const socket = await connect({ token: expired });
    expect((await call(socket, 'castles')).exception).toMatchObject({ statusCode: 401, error: 'invalid_token' });
  });
});

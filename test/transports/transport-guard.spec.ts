/** FiefTransportAuthGuard without a network: calls it cannot read (refused, logged once), socket state, optional peers. */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { WsException } from '@nestjs/websockets';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FiefService, Public } from '../../lib/index.js';
import { FiefTransportAuthGuard, getTransportRequest } from '../../lib/transports/index.js';

class Handlers {
  guarded() {}

  @Public()
  open() {}
}

// An unreachable Fief: none of these calls may get as far as the network.
const fief = new FiefService({ baseURL: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret' });
const guard = new FiefTransportAuthGuard(new Reflector(), fief);

function context(type: string, args: unknown[], handler: Function = Handlers.prototype.guarded) {
  const host = new ExecutionContextHost(args, Handlers, handler as never);
  host.setType(type);
  return host;
}

describe('FiefTransportAuthGuard on a call it cannot read', () => {
  const logged = () => jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it.each([
    ['an unknown context type', 'kafka-streams', [{ authorization: 'Bearer x' }, {}]],
    ['GraphQL without an HTTP request (a subscription over graphql-ws)', 'graphql', [{}, {}, { connectionParams: { token: 'x' } }, {}]],
  ])('refuses %s with 401 and one log line naming the type', async (_name, type, args) => {
    const error = logged();
    await expect(guard.canActivate(context(type, args))).rejects.toBeInstanceOf(UnauthorizedException);
    expect(error).toHaveBeenCalledTimes(1);
    expect(error).toHaveBeenCalledWith(expect.stringContaining(`cannot read a credential from a "${type}" context`));
  });

  it('refuses a WebSocket client without a handshake (the ws adapter) with a WsException the client receives', async () => {
    const error = logged();
    const refusal = guard.canActivate(context('ws', [{ send() {} }, 'data']));
    await expect(refusal).rejects.toBeInstanceOf(WsException);
    await expect(refusal).rejects.toMatchObject({ error: { status: 'error', statusCode: 401 } });
    expect(error).toHaveBeenCalledTimes(1);
    expect(error).toHaveBeenCalledWith(expect.stringContaining('cannot read a credential from a "ws" context'));
  });

  it('still lets @Public() handlers through on a context it cannot read', async () => {
    await expect(guard.canActivate(context('kafka-streams', [], Handlers.prototype.open))).resolves.toBe(true);
  });

  it.each([
    ['http', 'a request', [{ headers: {} }], true],
    ['graphql', 'a context with req', [{}, {}, { req: { headers: {} } }, {}], true],
    ['graphql', 'no context', [{}, {}, undefined, {}], false],
    ['ws', 'a socket.io client', [{ handshake: { auth: {} } }], true],
    ['ws', 'no client', [null], false],
    ['rpc', 'a message context', [{ accessToken: 'x' }, { getPattern() {} }], true],
    ['rpc', 'no message context', [{ accessToken: 'x' }], false],
  ])('getTransportRequest on %s with %s: readable = %s', (type, _what, args, readable) => {
    expect(getTransportRequest(context(type, args)) !== undefined).toBe(readable);
  });
});

describe('FiefTransportAuthGuard on a long-lived socket', () => {
  it('forgets what an earlier message attached before checking the next one, also for @Public() handlers', async () => {
    const accessTokenInfo = { id: 'earlier' };
    const client = { handshake: { auth: {} }, fief: { accessToken: 'old', accessTokenInfo }, user: accessTokenInfo };
    await expect(guard.canActivate(context('ws', [client, 'data'], Handlers.prototype.open))).resolves.toBe(true);
    expect(client).toEqual({ handshake: { auth: {} } });
  });

  it('keeps a user property the application set itself', async () => {
    const client = { handshake: { auth: {} }, user: { name: 'set by the app' } };
    await expect(guard.canActivate(context('ws', [client, 'data']))).rejects.toMatchObject({ error: { statusCode: 401 } });
    expect(client.user).toEqual({ name: 'set by the app' });
  });
});

describe('FiefTransportAuthGuard token sources', () => {
  it('uses the tokenExtractors option over its own default for a transport', async () => {
    const service = new FiefService({ ...fief.options, tokenExtractors: { rpc: { extract: (rpcContext) => rpcContext.headers.authorization } } });
    const custom = new FiefTransportAuthGuard(new Reflector(), service);
    // No header: the payload's accessToken is not read, so the call is anonymous.
    const anonymous = custom.canActivate(context('rpc', [{ accessToken: 'not.a.token' }, { headers: {} }]));
    await expect(anonymous).rejects.toMatchObject({ error: { statusCode: 401, message: expect.stringContaining('required') } });
    const withHeader = custom.canActivate(context('rpc', [{}, { headers: { authorization: 'not.a.token' } }]));
    await expect(withHeader).rejects.toMatchObject({ error: { statusCode: 401, error: 'invalid_token' } });
  });

  it('leaves HTTP to the base guard (Authorization header, no token in the URL)', async () => {
    const inUrl = guard.canActivate(context('http', [{ url: '/castles?access_token=x', headers: {} }, {}, () => {}]));
    await expect(inUrl).rejects.toMatchObject({ status: 400 });
    const malformed = guard.canActivate(context('http', [{ url: '/castles', headers: { authorization: 'Bearer not.a.token' } }, {}, () => {}]));
    await expect(malformed).rejects.toMatchObject({ status: 401 });
  });
});

describe('optional peers', () => {
  // The main entry re-exports lib/transports and lib/swagger: a static import of an optional peer
  // there would break every app that does not install it.
  const root = resolve(import.meta.dirname, '../../lib');
  const sources = ['transports', 'swagger'].flatMap((dir) =>
    readdirSync(join(root, dir)).map((file) => [`${dir}/${file}`, readFileSync(join(root, dir, file), 'utf8')]),
  );

  it.each(sources)('%s imports no optional peer at load time', (_file, source) => {
    const staticImports = [...source.matchAll(/^import (?!type )[^;]*from '([^']+)'/gm)].map((match) => match[1]);
    expect(staticImports.filter((name) => /^@nestjs\/(graphql|apollo|websockets|platform-socket\.io|microservices|swagger)/.test(name))).toEqual([]);
  });
});

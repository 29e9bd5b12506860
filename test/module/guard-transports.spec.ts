import { describe, expect, it, jest } from '@jest/globals';
import { Logger, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { Public } from '../../lib/auth/fief-auth.decorators.js';
import { FiefAuthGuard } from '../../lib/auth/fief-auth.guard.js';
import { FiefService } from '../../lib/fief.service.js';

class Handlers {
  guarded() {}

  @Public()
  open() {}
}

// No Fief server: nothing here may reach the network (an unreachable port proves it).
const fief = new FiefService({ baseURL: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret' });

function context(type: string, handler: Function, args: unknown[] = [{ headers: {} }, {}, () => {}]) {
  const host = new ExecutionContextHost(args, Handlers, handler as never);
  host.setType(type);
  return host;
}

describe('FiefAuthGuard outside HTTP', () => {
  it('fails closed, with a log line, on a transport it cannot read', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const guard = new FiefAuthGuard(new Reflector(), fief);
    await expect(guard.canActivate(context('rpc', Handlers.prototype.guarded, [{ authorization: 'Bearer x' }, {}]))).rejects.toBeInstanceOf(
      UnauthorizedException,
    );
    expect(error).toHaveBeenCalledWith(expect.stringContaining('cannot read a credential from a "rpc" context'));
    error.mockRestore();
  });

  it('still lets @Public() handlers through on any transport', async () => {
    const guard = new FiefAuthGuard(new Reflector(), fief);
    expect(await guard.canActivate(context('ws', Handlers.prototype.open))).toBe(true);
  });

  it('reads another transport once a subclass says where its request is and an extractor is configured', async () => {
    const service = new FiefService({
      baseURL: 'http://127.0.0.1:9',
      clientId: 'id',
      tokenExtractors: { ws: { extract: (client) => client.handshake.auth.token } },
    });
    class WsGuard extends FiefAuthGuard {
      protected override getRequest(ctx: ExecutionContextHost) {
        return ctx.getType() === 'ws' ? ctx.getArgByIndex(0) : super.getRequest(ctx);
      }
    }
    const guard = new WsGuard(new Reflector(), service);
    const anonymous = guard.canActivate(context('ws', Handlers.prototype.guarded, [{ handshake: { auth: {} } }]));
    await expect(anonymous).rejects.toMatchObject({ status: 401 });
    const empty = guard.canActivate(context('ws', Handlers.prototype.guarded, [{ handshake: { auth: { token: '' } } }]));
    await expect(empty).rejects.toMatchObject({ status: 401, response: expect.objectContaining({ message: expect.stringContaining('required') }) });
    const twice = guard.canActivate(context('ws', Handlers.prototype.guarded, [{ handshake: { auth: { token: ['a', 'b'] } } }]));
    await expect(twice).rejects.toMatchObject({ status: 400 });
    const garbage = guard.canActivate(context('ws', Handlers.prototype.guarded, [{ handshake: { auth: { token: 'garbage' } } }]));
    await expect(garbage).rejects.toMatchObject({ status: 401, message: expect.any(String) });
  });
});

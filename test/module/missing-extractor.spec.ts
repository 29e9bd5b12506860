/**
 * Issue 10 §4: a context type in use without a token extractor is a configuration mistake that only
 * shows when such a call arrives: 401 with one clear log line per type, never a 503 per request.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { FiefAuthGuard } from '../../lib/auth/fief-auth.guard.js';
import { FiefService } from '../../lib/fief.service.js';

class Handlers {
  guarded() {}
}

class WsGuard extends FiefAuthGuard {
  protected override getRequest(context: ExecutionContextHost) {
    return context.getArgByIndex(0);
  }
}

describe('a context type without a token extractor', () => {
  it('is refused with 401 (not 503) and logged once, naming the type and the option', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const guard = new WsGuard(new Reflector(), new FiefService({ baseURL: 'http://127.0.0.1:9', clientId: 'id' }));
      for (let i = 0; i < 3; i++) {
        const host = new ExecutionContextHost([{ handshake: { auth: { token: 'x' } } }], Handlers, Handlers.prototype.guarded as never);
        host.setType('ws');
        await expect(Promise.resolve().then(() => guard.canActivate(host))).rejects.toMatchObject({ status: 401 });
      }
      expect(error).toHaveBeenCalledTimes(1);
      expect(error).toHaveBeenCalledWith(expect.stringMatching(/Cannot authenticate "ws" calls: .*tokenExtractors.*"ws"/));
    } finally {
      error.mockRestore();
    }
  });
});

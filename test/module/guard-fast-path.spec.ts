/**
 * The benchmark's hot path: a verified-token cache hit on a route that needs no user settles
 * `canActivate` synchronously (`true`, not a promise), through the pipeline, with one tenant,
 * with several, and with the session cookie plugged in.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { CurrentUser, Permissions } from '../../lib/auth/fief-auth.decorators.js';
import { FiefAuthGuard } from '../../lib/auth/fief-auth.guard.js';
import { FiefAuthPipeline } from '../../lib/auth/fief-auth-pipeline.js';
import type { FiefCredentialSource } from '../../lib/auth/credential-source.js';
import { FiefService } from '../../lib/fief.service.js';
import { FiefDevServer } from '../../lib/testing/index.js';

class Handlers {
  @Permissions('castles:read')
  read() {}

  me(@CurrentUser() _user: unknown) {}
}

function http(authorization: string, handler: Function = Handlers.prototype.read) {
  const host = new ExecutionContextHost([{ headers: { authorization } }, {}], Handlers, handler as never);
  host.setType('http');
  return host;
}

describe('FiefAuthGuard on a verified-token cache hit', () => {
  let dev: FiefDevServer;
  let token: string;
  let acmeToken: string;

  beforeAll(async () => {
    dev = new FiefDevServer({ tenants: { acme: {} } });
    await dev.start();
    token = await dev.issueAccessToken({ user: 'anne@bretagne.duchy' });
    acmeToken = await dev.tenant('acme').issueAccessToken({ user: 'anne@bretagne.duchy' });
  });

  afterAll(() => dev?.stop());

  const cookieSource: FiefCredentialSource = { types: ['http'], isPresent: () => false, read: async () => undefined };

  it.each([
    ['one tenant', () => new FiefService({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' }), () => token, []],
    [
      'several tenants',
      () =>
        new FiefService({
          tenants: {
            root: { baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' },
            acme: { baseURL: dev.tenant('acme').baseURL, clientId: dev.tenant('acme').clients[0].clientId },
          },
        }),
      () => acmeToken,
      [],
    ],
    ['the session cookie plugged in (no cookie sent)', () => new FiefService({ baseURL: dev.baseURL, clientId: 'fief-dev-client' }), () => token, [cookieSource]],
  ] as const)('settles synchronously with %s', async (_name, service, bearer, sources) => {
    const fief = service();
    const guard = new FiefAuthGuard(new Reflector(), fief, undefined, new FiefAuthPipeline(fief, [...sources]));
    const first = guard.canActivate(http(`Bearer ${bearer()}`));
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    expect(guard.canActivate(http(`Bearer ${bearer()}`))).toBe(true);
    // A route that needs the user still goes through a promise.
    const withUser = guard.canActivate(http(`Bearer ${bearer()}`, Handlers.prototype.me));
    expect(withUser).toBeInstanceOf(Promise);
    expect(await withUser).toBe(true);
  });
});

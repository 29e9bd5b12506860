/** resolveTenant's own answers through FiefAuthGuard: async names, none, unknown ones, and failures (503, never a pass). */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { FiefAuthGuard } from '../../lib/auth/fief-auth.guard.js';
import { FiefService } from '../../lib/fief.service.js';
import type { FiefTenantResolver } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ANNE } from '../e2e/fixtures.js';
import { requestsTo, TENANTS, tenantsOption } from './tenant-fixtures.js';

class Handlers {
  guarded() {}
}

describe('resolveTenant', () => {
  let dev: FiefDevServer;
  let token: string;

  beforeAll(async () => {
    dev = new FiefDevServer({ tenants: { acme: {}, globex: {} } });
    await dev.start();
    token = await dev.tenant('acme').issueAccessToken({ user: ANNE });
  });

  afterAll(() => dev?.stop());

  const run = (resolveTenant: FiefTenantResolver) => {
    const guard = new FiefAuthGuard(new Reflector(), new FiefService({ tenants: tenantsOption(dev), resolveTenant }));
    const request: Record<string, any> = { headers: { authorization: `Bearer ${token}` } };
    const host = new ExecutionContextHost([request, {}], Handlers, Handlers.prototype.guarded as never);
    host.setType('http');
    return { verdict: Promise.resolve().then(() => guard.canActivate(host)), request };
  };

  it('may answer with a promise', async () => {
    const { verdict, request } = run(async () => 'acme');
    await expect(verdict).resolves.toBe(true);
    expect(request.fief.tenant).toBe('acme');
  });

  it.each([
    ['no tenant', () => undefined],
    ['an unknown tenant', () => 'initech'],
    ['an inherited property name', () => 'constructor'],
    ['the other tenant', () => 'globex'],
  ])('refuses %s with 401 before anything is fetched', async (_name, resolve) => {
    for (const name of TENANTS) dev.tenant(name).resetRequestCounts();
    await expect(run(resolve as FiefTenantResolver).verdict).rejects.toMatchObject({ status: 401 });
    expect(TENANTS.map((name) => requestsTo(dev.tenant(name)))).toEqual([0, 0]);
  });

  it.each([
    ['throws', () => { throw new Error('tenant lookup failed'); }],
    ['rejects', () => Promise.reject(new Error('tenant lookup failed'))],
  ])('answers 503 when it %s, never a pass', async (_name, resolve) => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await expect(run(resolve as FiefTenantResolver).verdict).rejects.toMatchObject({ status: 503 });
    } finally {
      warn.mockRestore();
    }
  });
});

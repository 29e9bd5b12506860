import { describe, expect, it } from '@jest/globals';
import { FiefError, type FiefModuleOptions } from '../../lib/index.js';
import { resolveFiefWebhookOptions } from '../../lib/webhooks/fief-webhook-options.js';
import { createWebhookApp } from './webhook-fixtures.js';

describe('webhooks and store options are checked when the app starts', () => {
  it('every mistake in `webhooks` is listed', () => {
    expect(() => resolveFiefWebhookOptions({ secret: '', tolerance: -1, maxBodyBytes: 1.5 })).toThrow(
      /webhooks\.secret[\s\S]*webhooks\.tolerance[\s\S]*webhooks\.maxBodyBytes/,
    );
    expect(() => resolveFiefWebhookOptions({ secret: [] })).toThrow(FiefError);
    expect(() => resolveFiefWebhookOptions({ secret: ['ok', 3 as never] })).toThrow(/webhooks\.secret/);
    expect(() => resolveFiefWebhookOptions(null as never)).toThrow(/webhooks must be an object/);
    expect(resolveFiefWebhookOptions({ secret: 'one' })).toEqual({ secrets: ['one'], tolerance: 300, maxBodyBytes: 262144 });
    expect(resolveFiefWebhookOptions(undefined)).toBeNull();
  });

  it('an app whose webhooks option is wrong does not start', async () => {
    await expect(createWebhookApp('express', { fief: { webhooks: { secret: '' } } })).rejects.toThrow(/webhooks\.secret/);
  });

  it('FiefWebhookGuard on a route of an app without the webhooks option stops it at start-up', async () => {
    await expect(createWebhookApp('express', { fief: { webhooks: undefined } as Partial<FiefModuleOptions> })).rejects.toThrow(
      /FiefWebhookGuard is used but webhooks are not configured/,
    );
  });

  it('a `store` that is not a FiefStore stops the app at start-up', async () => {
    await expect(createWebhookApp('fastify', { fief: { store: { get() {} } as never } })).rejects.toThrow(
      /store must be a FiefStore \(get, set, setIfAbsent and delete\)/,
    );
  });
});

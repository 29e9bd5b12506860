/**
 * A client serving a named tenant (as the module builds one per tenant) reports under `fief.tenant`:
 * its spans, verifications and verified-token cache lookups, apart from another tenant's.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FIEF_TELEMETRY_TENANT } from '../../lib/telemetry/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { OtelHarness, total } from './otel-harness.js';

describe('telemetry of a named tenant', () => {
  const otel = new OtelHarness();
  let dev: FiefDevServer;

  beforeAll(async () => {
    otel.install();
    dev = new FiefDevServer({ tenants: { acme: {}, globex: {} } });
    await dev.start();
  });

  afterAll(async () => {
    await dev?.stop();
    await otel.uninstall();
  });

  const clientOf = (slug: string) => {
    const tenant = dev.tenant(slug);
    const { clientId, clientSecret } = tenant.clients[0];
    return new FiefClient({ baseURL: tenant.baseURL, clientId, clientSecret, [FIEF_TELEMETRY_TENANT]: slug } as never);
  };

  it('carries the tenant on spans and metrics, each tenant counted apart', async () => {
    const acme = clientOf('acme');
    const globex = clientOf('globex');
    const token = await dev.tenant('acme').issueAccessToken();
    await acme.verifyAccessToken(token);
    await acme.verifyAccessToken(token);
    // Another tenant's token: its issuer is not globex's, so it is refused at once, before its
    // unknown key could send globex to fetch its JWKS.
    await expect(globex.verifyAccessToken(await dev.tenant('acme').issueAccessToken({ claims: { jti: 'x' } }))).rejects.toMatchObject({
      name: 'FiefAccessTokenInvalid',
    });

    const spans = otel.spans();
    expect(spans.map((span) => [span.name, span.attributes['fief.tenant']])).toEqual([
      ['fief.discovery', 'acme'],
      ['fief.jwks', 'acme'],
      ['fief.discovery', 'globex'],
    ]);
    const points = await otel.points();
    expect(total(points, 'fief.token.verifications', { 'fief.tenant': 'acme', 'fief.outcome': 'valid' })).toBe(1);
    expect(total(points, 'fief.token.verifications', { 'fief.tenant': 'globex', 'fief.outcome': 'invalid' })).toBe(1);
    expect(total(points, 'fief.token.verifications', { 'fief.tenant': 'globex' })).toBe(1);
    const lookups = (tenant: string, result: string) =>
      total(points, 'fief.cache.lookups', { 'fief.cache': 'verified_token', 'fief.tenant': tenant, 'fief.cache.result': result });
    expect([lookups('acme', 'miss'), lookups('acme', 'hit'), lookups('globex', 'miss'), lookups('globex', 'hit')]).toEqual([1, 1, 1, 0]);
    expect(total(points, 'fief.client.request.duration', { 'fief.tenant': 'acme' })).toBe(2);
  });
});

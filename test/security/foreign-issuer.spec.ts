/**
 * A token of another tenant of the same Fief, sent to an app of one tenant: its `iss` is not ours and
 * its `kid` is unknown to us. It is a verdict (401 invalid_token) at once, with no key refetch, and
 * never the 503 of "a key that may have just rotated in", however fresh the token is.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FiefAccessTokenInvalid, FiefClient } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';

describe('a token from another issuer of the same Fief', () => {
  let dev: FiefDevServer;
  let client: FiefClient;

  beforeAll(async () => {
    dev = new FiefDevServer({ tenants: { other: {} } });
    await dev.start();
    const [{ clientId, clientSecret }] = dev.tenant().clients;
    client = new FiefClient({ baseURL: dev.baseURL, clientId, clientSecret });
    // Our keys are known: the foreign kid would otherwise look like a key rotated in after that fetch.
    await client.verifyAccessToken(await dev.issueAccessToken({ user: 'anne@bretagne.duchy' }));
  });

  afterAll(async () => {
    await dev.stop();
  });

  it('is 401 invalid_token with no JWKS refetch, even when issued after our key fetch', async () => {
    const other = dev.tenant('other');
    const foreign = await other.issueAccessToken({ user: other.users[0].email });
    dev.resetRequestCounts();
    for (let attempt = 0; attempt < 3; attempt++) {
      const refusal = await client.verifyAccessToken(foreign).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(FiefAccessTokenInvalid);
      expect((refusal as Error).message).toMatch(/"iss"/);
    }
    expect(dev.requestCounts.jwks).toBe(0);
    expect(dev.requestCounts.discovery).toBe(0);
  });
});

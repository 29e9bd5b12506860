/**
 * Claims shaped like Fief's (issue 10 §2): `exp`, `iat`, `nbf` and `auth_time` are safe integers (no
 * floats, no 1e20, no Infinity from JSON `1e400`), `exp` is no further ahead than `maxTokenLifetime`,
 * and several audiences without `azp` are refused for access tokens too (OIDC Core 3.1.3.7 (4)).
 *
 * Tokens are signed with the live dev server's own key, so only the claims can be at fault; checked
 * through FiefClient directly and through FiefAuthGuard on Express and Fastify.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FiefAccessTokenExpired, FiefAccessTokenInvalid, FiefClient, FiefError, FiefModule } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { accessClaims, ADAPTERS, ANNE, CLIENT, expectRefused, forgeJwt, handlerCalls, startApp, TargetController, toKeyObject, type ForgeKey } from './security-fixtures.js';

const now = () => Math.floor(Date.now() / 1000);
const YEAR = 365 * 24 * 3600;
/** A claim value JSON can carry but JavaScript cannot write: the text is spliced into the payload as is. */
const raw = (json: string) => ({ raw: json });

describe('claims shaped like Fief', () => {
  let dev: FiefDevServer;
  let realKey: ForgeKey;
  let sub: string;

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [CLIENT, { clientId: 'other-client', clientSecret: 'other-secret' }] });
    await dev.start();
    realKey = { kind: 'rsa', key: toKeyObject(dev.signingKey.privateKey) };
    sub = dev.findUser(ANNE)!.id!;
  });
  afterAll(() => dev?.stop());

  /** A token signed by Fief's key whose claims are the valid ones with `overrides`. */
  const token = (overrides: Record<string, unknown>) => {
    const spliced: [string, string][] = [];
    const plain: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(overrides)) {
      if (value !== null && typeof value === 'object' && 'raw' in value) {
        plain[name] = `@@${name}@@`;
        spliced.push([`"@@${name}@@"`, (value as { raw: string }).raw]);
      } else {
        plain[name] = value;
      }
    }
    let payload = JSON.stringify(accessClaims(dev.issuer, sub, plain));
    for (const [placeholder, json] of spliced) payload = payload.replace(placeholder, json);
    return forgeJwt({ alg: 'RS256', kid: dev.signingKey.kid }, payload, realKey);
  };

  const REFUSED: [string, () => Record<string, unknown>][] = [
    ['exp a float', () => ({ exp: now() + 3600.5 })],
    ['exp 1e20', () => ({ exp: 1e20 })],
    ['exp 1e400 (Infinity: never expires)', () => ({ exp: raw('1e400') })],
    ['exp -1e400', () => ({ exp: raw('-1e400') })],
    ['exp 11 years ahead (beyond the default maxTokenLifetime)', () => ({ exp: now() + 11 * YEAR })],
    ['iat a float', () => ({ iat: now() - 0.5 })],
    ['iat -1e400', () => ({ iat: raw('-1e400') })],
    ['iat 1e20', () => ({ iat: 1e20 })],
    ['nbf a float', () => ({ nbf: now() - 10.25 })],
    ['nbf -1e400', () => ({ nbf: raw('-1e400') })],
    ['auth_time a float', () => ({ auth_time: now() - 60.5 })],
    ['auth_time 1e400', () => ({ auth_time: raw('1e400') })],
    ['auth_time a string', () => ({ auth_time: String(now()) })],
    ['auth_time -1e20', () => ({ auth_time: -1e20 })],
    ['several audiences and no azp', () => ({ aud: [CLIENT.clientId, 'other-client'], azp: undefined })],
  ];
  const ACCEPTED: [string, () => Record<string, unknown>][] = [
    ['exp 9 years ahead (within the default maxTokenLifetime)', () => ({ exp: now() + 9 * YEAR })],
    ['integer iat, nbf and auth_time', () => ({ nbf: now() - 5, auth_time: now() - 600 })],
    ['one audience in an array and no azp', () => ({ aud: [CLIENT.clientId], azp: undefined })],
    ['one audience as a string and no azp', () => ({ aud: CLIENT.clientId, azp: undefined })],
    ['several audiences with azp naming us', () => ({ aud: [CLIENT.clientId, 'other-client'], azp: CLIENT.clientId })],
  ];

  describe('through FiefClient', () => {
    let fief: FiefClient;
    beforeAll(() => {
      fief = new FiefClient({ baseURL: dev.baseURL, ...CLIENT, tokenCache: false });
    });

    it.each(REFUSED)('refuses %s as invalid (not expired)', async (_name, overrides) => {
      const error = await fief.verifyAccessToken(token(overrides())).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FiefAccessTokenInvalid);
      expect(error).not.toBeInstanceOf(FiefAccessTokenExpired);
    });

    it.each(ACCEPTED)('accepts %s', async (_name, overrides) => {
      expect((await fief.verifyAccessToken(token(overrides()))).id).toBe(sub);
    });

    it('names the claim at fault', async () => {
      const message = (overrides: Record<string, unknown>) => fief.verifyAccessToken(token(overrides)).catch((error: Error) => error.message);
      expect(await message({ exp: raw('1e400') })).toMatch(/"exp" claim must be an integer/);
      expect(await message({ auth_time: 1.5 })).toMatch(/"auth_time" claim must be an integer/);
      expect(await message({ exp: now() + 11 * YEAR })).toMatch(/"exp" is more than maxTokenLifetime/);
      expect(await message({ aud: [CLIENT.clientId, 'other-client'], azp: undefined })).toMatch(/several audiences and no "azp"/);
    });

    it('bounds exp by maxTokenLifetime, with the clock tolerance', async () => {
      const short = new FiefClient({ baseURL: dev.baseURL, ...CLIENT, maxTokenLifetime: 600, clockTolerance: 5, tokenCache: false });
      await expect(short.verifyAccessToken(token({ exp: now() + 3600 }))).rejects.toThrow(/maxTokenLifetime \(600 s\)/);
      expect((await short.verifyAccessToken(token({ exp: now() + 603 }))).id).toBe(sub);
      await expect(short.verifyAccessToken(token({ exp: now() + 620 }))).rejects.toBeInstanceOf(FiefAccessTokenInvalid);
      // Fief's own tokens pass with the default bound.
      expect((await fief.verifyAccessToken(await dev.issueAccessToken({ user: ANNE }))).id).toBe(sub);
    });

    it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '3600'])('refuses maxTokenLifetime %p at construction', (value) => {
      expect(() => new FiefClient({ baseURL: dev.baseURL, ...CLIENT, maxTokenLifetime: value as number })).toThrow(FiefError);
      expect(() => new FiefClient({ baseURL: dev.baseURL, ...CLIENT, maxTokenLifetime: value as number })).toThrow(/maxTokenLifetime/);
    });
  });

  describe.each(ADAPTERS)('through FiefAuthGuard on %s', (adapter) => {
    let app: INestApplication;
    let url: string;
    beforeAll(async () => {
      ({ app, url } = await startApp(adapter, { imports: [FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT })], controllers: [TargetController] }));
    });
    afterAll(() => app?.close());
    const get = (bearer: string) => fetch(`${url}/target/plain`, { headers: { authorization: `Bearer ${bearer}` } });

    it.each(REFUSED)('answers 401 invalid_token to %s', async (_name, overrides) => {
      await expectRefused(() => get(token(overrides())), 401, 'invalid_token');
    });

    it.each(ACCEPTED)('accepts %s', async (_name, overrides) => {
      const before = handlerCalls.plain;
      expect((await get(token(overrides()))).status).toBe(200);
      expect(handlerCalls.plain).toBe(before + 1);
    });

    it('answers the same to a refused token the second time (nothing cached from it)', async () => {
      const infinite = token({ exp: raw('1e400') });
      await expectRefused(() => get(infinite), 401, 'invalid_token');
      await expectRefused(() => get(infinite), 401, 'invalid_token');
    });
  });
});

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { FiefService, resolveFiefModuleOptions, userInfoCacheKey } from '../../lib/fief.service.js';
import { bearerHeaderExtractor } from '../../lib/auth/token-extractor.js';
import type { FiefUserInfoCache } from '../../lib/auth/user-info-cache.js';
import type { FiefUserInfo } from '../../lib/client/types.js';
import { FiefDevServer } from '../../lib/testing/index.js';

const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };

/** A cache that records what it is given, as a shared (e.g. Redis) cache would receive it. */
class RecordingCache implements FiefUserInfoCache {
  readonly sets: { key: string; ttl: number }[] = [];
  readonly store = new Map<string, FiefUserInfo>();
  async get(key: string) {
    return this.store.get(key);
  }
  async set(key: string, user: FiefUserInfo, ttl: number) {
    this.sets.push({ key, ttl });
    this.store.set(key, user);
  }
  async delete(key: string) {
    this.store.delete(key);
  }
}

describe('resolveFiefModuleOptions', () => {
  it('applies the defaults', () => {
    expect(resolveFiefModuleOptions({ baseURL: 'https://example.fief.dev', clientId: 'id' })).toMatchObject({
      realm: 'fief',
      tokenExtractors: { http: bearerHeaderExtractor },
      userInfoCacheTtl: 300,
      userInfoCacheMaxEntries: 1000,
      retryAfter: 10,
    });
  });

  it('refuses missing options with one clear message', () => {
    expect(() => resolveFiefModuleOptions(undefined as never)).toThrow('FiefModule options are missing');
  });
});

describe('FiefService user info', () => {
  let dev: FiefDevServer;
  let baseURL: string;

  beforeAll(async () => {
    dev = new FiefDevServer();
    baseURL = await dev.start();
  });
  afterAll(() => dev?.stop());

  it('asks Fief once for concurrent requests with one token', async () => {
    const fief = new FiefService({ baseURL, ...CLIENT });
    const info = await fief.verifyAccessToken(await dev.issueAccessToken({ claims: { jti: 'concurrent' } }));
    dev.resetRequestCounts();
    const users = await Promise.all(Array.from({ length: 5 }, () => fief.getUserInfo(info)));
    expect(new Set(users.map((user) => user.email))).toEqual(new Set(['anne@bretagne.duchy']));
    expect(dev.requestCounts.userinfo).toBe(1);
  });

  it('keys the cache by a hash of the token and never keeps an entry past the token expiry', async () => {
    const cache = new RecordingCache();
    const fief = new FiefService({ baseURL, ...CLIENT, userInfoCache: cache });
    const token = await dev.issueAccessToken({ expiresIn: 20 });
    const info = await fief.verifyAccessToken(token);
    await fief.getUserInfo(info);
    expect(cache.sets).toHaveLength(1);
    expect(cache.sets[0].key).toBe(userInfoCacheKey(token));
    expect(cache.sets[0].key).not.toContain(token.split('.')[2]);
    expect(cache.sets[0].ttl).toBeLessThanOrEqual(20_000);
    expect(cache.sets[0].ttl).toBeGreaterThan(10_000);
    dev.resetRequestCounts();
    await fief.getUserInfo(info);
    expect(dev.requestCounts.userinfo).toBe(0);
  });

  it('caches nothing with a TTL of 0', async () => {
    const cache = new RecordingCache();
    const fief = new FiefService({ baseURL, ...CLIENT, userInfoCache: cache, userInfoCacheTtl: 0 });
    const info = await fief.verifyAccessToken(await dev.issueAccessToken({ claims: { jti: 'no-cache' } }));
    await fief.getUserInfo(info);
    await fief.getUserInfo(info);
    expect(cache.sets).toHaveLength(0);
  });

  it('forgets the cached user after a profile update', async () => {
    const cache = new RecordingCache();
    const fief = new FiefService({ baseURL, ...CLIENT, userInfoCache: cache });
    const token = await dev.issueAccessToken({ user: 'guest@example.com' });
    await fief.getUserInfo(await fief.verifyAccessToken(token));
    expect(cache.store.has(userInfoCacheKey(token))).toBe(true);
    await fief.updateProfile(token, { fields: { first_name: 'Guest' } });
    expect(cache.store.has(userInfoCacheKey(token))).toBe(false);
    expect((await fief.getUserInfo(await fief.verifyAccessToken(token))).fields?.first_name).toBe('Guest');
  });

  it('logs Fief failures without the token or the client secret', async () => {
    const lines: string[] = [];
    const record = (message: unknown) => void lines.push(String(message));
    const spies = (['log', 'warn', 'debug', 'error'] as const).map((level) =>
      jest.spyOn(Logger.prototype, level).mockImplementation(record as never),
    );
    try {
      const fief = new FiefService({ baseURL, ...CLIENT });
      const token = await dev.issueAccessToken({ claims: { jti: 'logged' } });
      dev.setFault('all', 'html');
      await expect(fief.userinfo(token)).rejects.toThrow();
      dev.setFault('all', '500');
      await expect(fief.updateProfile(token, { fields: {} })).rejects.toThrow();
      await expect(fief.authRefreshToken('refresh-token-value')).rejects.toThrow();
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) {
        expect(line).not.toContain(token.split('.')[2]);
        expect(line).not.toContain(CLIENT.clientSecret);
        expect(line).not.toContain('refresh-token-value');
      }
    } finally {
      dev.setFault('all', null);
      spies.forEach((spy) => spy.mockRestore());
    }
  });

  it('builds without any request to Fief', () => {
    dev.resetRequestCounts();
    new FiefService({ baseURL, ...CLIENT });
    expect(Object.values(dev.requestCounts).every((count) => count === 0)).toBe(true);
  });
});

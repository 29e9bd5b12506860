import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { InMemoryFiefUserInfoCache } from '../../lib/auth/user-info-cache.js';
import type { FiefUserInfo } from '../../lib/client/types.js';

const user = (sub: string): FiefUserInfo => ({ sub, email: `${sub}@example.com`, tenant_id: 't' });

describe('InMemoryFiefUserInfoCache', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('returns entries until their TTL passes', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const cache = new InMemoryFiefUserInfoCache();
    cache.set('a', user('a'), 1000);
    expect(cache.get('a')).toEqual(user('a'));
    jest.setSystemTime(1_000_999);
    expect(cache.get('a')).toEqual(user('a'));
    jest.setSystemTime(1_001_000);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('stays within its bound, evicting the least recently used entry', () => {
    const cache = new InMemoryFiefUserInfoCache(2);
    cache.set('a', user('a'), 60_000);
    cache.set('b', user('b'), 60_000);
    cache.get('a');
    cache.set('c', user('c'), 60_000);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(user('a'));
    expect(cache.get('c')).toEqual(user('c'));
  });

  it('ignores non-positive TTLs and forgets deleted entries', () => {
    const cache = new InMemoryFiefUserInfoCache();
    cache.set('a', user('a'), 0);
    cache.set('b', user('b'), -5);
    expect(cache.size).toBe(0);
    cache.set('c', user('c'), 60_000);
    cache.delete('c');
    expect(cache.get('c')).toBeUndefined();
  });
});

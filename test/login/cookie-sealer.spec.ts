import { describe, expect, it } from '@jest/globals';
import { CompactEncrypt, EncryptJWT, decodeProtectedHeader } from 'jose';
import { FiefError } from '../../lib/client/errors.js';
import { CookieSealer } from '../../lib/login/cookie-sealer.js';

const SECRET = 'a'.repeat(16) + 'secret-with-32-bytes!';
const OTHER_SECRET = 'another-secret-that-is-long-enough-0123';
const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

describe('CookieSealer', () => {
  it('round-trips claims in a dir/A256GCM JWE', async () => {
    const sealer = new CookieSealer(SECRET, 'session');
    const value = await sealer.seal({ at: 'token', n: 1 }, inOneHour());
    expect(decodeProtectedHeader(value)).toEqual({ alg: 'dir', enc: 'A256GCM' });
    expect(value.split('.')).toHaveLength(5);
    expect(value).not.toContain('token');
    expect(await sealer.unseal(value)).toMatchObject({ at: 'token', n: 1 });
  });

  it('accepts secrets of any length from 32 bytes, counted in UTF-8 bytes', async () => {
    expect(() => new CookieSealer('é'.repeat(16), 'session')).not.toThrow(); // 32 bytes, 16 characters
    const long = new CookieSealer('x'.repeat(500), 'session');
    expect(await long.unseal(await long.seal({ a: 1 }, inOneHour()))).toMatchObject({ a: 1 });
  });

  it.each([
    ['a short secret', 'too-short', /is 9 bytes; it must be at least 32/],
    ['an empty list', [], /empty list/],
    ['a short secret in a list', [SECRET, 'short'], /cookieSecret\[1\] is 5 bytes/],
    ['a non-string', [42], /cookieSecret\[0\] must be a string/],
  ])('refuses %s with a clear message', (_label, secrets, message) => {
    expect(() => new CookieSealer(secrets as string[], 'session')).toThrow(FiefError);
    expect(() => new CookieSealer(secrets as string[], 'session')).toThrow(message);
  });

  it('rotates: seals with the first secret, opens with any', async () => {
    const before = new CookieSealer([OTHER_SECRET], 'session');
    const during = new CookieSealer([SECRET, OTHER_SECRET], 'session');
    const after = new CookieSealer([SECRET], 'session');
    const old = await before.seal({ v: 'old' }, inOneHour());
    expect(await during.unseal(old)).toMatchObject({ v: 'old' });
    const fresh = await during.seal({ v: 'new' }, inOneHour());
    expect(await after.unseal(fresh)).toMatchObject({ v: 'new' });
    expect(await before.unseal(fresh)).toBeUndefined();
    expect(await after.unseal(old)).toBeUndefined();
  });

  it('keeps session and transaction keys apart, so one cannot be replayed as the other', async () => {
    const session = new CookieSealer(SECRET, 'session');
    const transaction = new CookieSealer(SECRET, 'login-transaction');
    expect(await transaction.unseal(await session.seal({ s: 'x' }, inOneHour()))).toBeUndefined();
    expect(await session.unseal(await transaction.seal({ at: 'x' }, inOneHour()))).toBeUndefined();
  });

  it('treats expired, tampered, truncated and garbage values as no cookie', async () => {
    const sealer = new CookieSealer(SECRET, 'session');
    const expired = await sealer.seal({ at: 'x' }, Math.floor(Date.now() / 1000) - 1);
    expect(await sealer.unseal(expired)).toBeUndefined();

    const value = await sealer.seal({ at: 'x' }, inOneHour());
    const parts = value.split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const index of [0, 2, 3, 4]) {
      const tampered = [...parts];
      tampered[index] = flip(tampered[index]);
      expect(await sealer.unseal(tampered.join('.'))).toBeUndefined();
    }
    expect(await sealer.unseal(parts.slice(0, 4).join('.'))).toBeUndefined();
    for (const garbage of ['', 'x', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.', '....', undefined]) {
      expect(await sealer.unseal(garbage)).toBeUndefined();
    }
  });

  it('refuses a JWE without expiry, or with another algorithm, even under the right key', async () => {
    const sealer = new CookieSealer(SECRET, 'session');
    // Recreate the derived key the way the sealer does, to forge otherwise-valid cookies.
    const { hkdfSync } = await import('node:crypto');
    const key = new Uint8Array(hkdfSync('sha256', SECRET, 'nestjs-fief cookie keys', 'nestjs-fief session cookie v1', 32));
    const noExp = await new EncryptJWT({ at: 'x' }).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).setIssuedAt().encrypt(key);
    expect(await sealer.unseal(noExp)).toBeUndefined();
    const cbc = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ at: 'x', exp: inOneHour(), iat: 1 })))
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM' })
      .encrypt(key);
    expect(await sealer.unseal(cbc)).toBeUndefined();
    const good = await new EncryptJWT({ at: 'x' })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(inOneHour())
      .encrypt(key);
    expect(await sealer.unseal(good)).toMatchObject({ at: 'x' });
  });
});

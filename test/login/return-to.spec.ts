import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isSafeReturnTo, sanitizeReturnTo } from '../../lib/login/return-to.js';

describe('sanitizeReturnTo', () => {
  it.each(['/', '/castles', '/castles?page=2&sort=name', '/castles#top', '/a/b/c/', '/search?q=%2F%2Fnot-a-host', '/caf%C3%A9'])(
    'keeps the same-site path %j',
    (path) => {
      expect(sanitizeReturnTo(path)).toBe(path);
    },
  );

  it.each([
    ['protocol-relative', '//evil.com'],
    ['protocol-relative with path', '//evil.com/castles'],
    ['backslash host', '/\\evil.com'],
    ['double backslash', '\\\\evil.com'],
    ['backslash later', '/castles\\..\\evil'],
    ['absolute https', 'https://evil.com/'],
    ['absolute http', 'http://evil.com'],
    ['scheme-relative with spaces', ' //evil.com'],
    ['javascript', 'javascript:alert(1)'],
    ['javascript with a trailing comment', 'javascript:alert(1)//'],
    ['data URL', 'data:text/html,<script>alert(1)</script>'],
    ['tab in authority', '/\t/evil.com'],
    ['newline in authority', '/\n/evil.com'],
    ['carriage return header split', '/x\r\nSet-Cookie: a=b'],
    ['NUL', '/x\u0000'],
    ['DEL', '/x\u007f'],
    ['encoded slashes', '/%2F%2Fevil.com'],
    ['encoded slash first', '/%2Fevil.com'],
    ['encoded backslash', '/%5Cevil.com'],
    ['encoded CRLF', '/x%0D%0ASet-Cookie:%20a=b'],
    ['double-encoded slashes', '/%252F%252Fevil.com'],
    ['encoded tab', '/%09/evil.com'],
    ['dot-segment collapsing to //', '/.//evil.com'],
    ['dot-dot collapsing to //', '/a/..//evil.com'],
    ['malformed percent-encoding', '/%E0%A4%A'],
    ['empty', ''],
    ['relative path', 'castles'],
    ['too long', `/${'a'.repeat(3000)}`],
  ])('refuses %s', (_label, value) => {
    expect(isSafeReturnTo(value)).toBe(false);
    expect(sanitizeReturnTo(value)).toBe('/');
  });

  it.each([
    ['/château', '/ch%C3%A2teau'],
    ['/castles?q="fort la latte"', '/castles?q=%22fort%20la%20latte%22'],
    ['/a b#<top>', '/a%20b#%3Ctop%3E'],
    ['/\u{1F3F0}', '/%F0%9F%8F%B0'],
  ])('percent-encodes %j as a browser would send it', (path, encoded) => {
    expect(sanitizeReturnTo(path)).toBe(encoded);
  });

  it('bounds the encoded size, not the length: 1 KB once percent-encoded', () => {
    expect(sanitizeReturnTo(`/${'a'.repeat(1023)}`)).toBe(`/${'a'.repeat(1023)}`);
    expect(sanitizeReturnTo(`/${'a'.repeat(1024)}`)).toBe('/');
    expect(sanitizeReturnTo(`/${'é'.repeat(170)}`)).toBe(`/${'%C3%A9'.repeat(170)}`);
    expect(sanitizeReturnTo(`/${'é'.repeat(171)}`)).toBe('/');
    expect(sanitizeReturnTo(`/${'"'.repeat(400)}`)).toBe('/');
  });

  it('refuses non-strings and uses the given fallback', () => {
    for (const value of [undefined, null, 42, ['/x'], { toString: () => '/x' }]) {
      expect(sanitizeReturnTo(value, '/home')).toBe('/home');
    }
  });

  it('never yields a redirect that leaves the site, whatever the input', () => {
    const tricky = fc.constantFrom('/', '\\', '%', '2F', '5C', '.', ':', '@', '\t', '\n', 'evil.com', '?', '#', 'javascript:');
    const input = fc.oneof(fc.string(), fc.array(tricky, { maxLength: 12 }).map((parts) => parts.join('')), fc.webUrl());
    fc.assert(
      fc.property(input, (value) => {
        const result = sanitizeReturnTo(value);
        const resolved = new URL(result, 'https://app.example/some/page');
        expect(resolved.origin).toBe('https://app.example');
        expect(result.startsWith('/')).toBe(true);
        expect(result.startsWith('//')).toBe(false);
        expect(result).not.toMatch(/[\\\u0000-\u001f]/);
        expect(result).toMatch(/^[\x21-\x7e]+$/);
        expect(result.length).toBeLessThanOrEqual(1024);
      }),
      { numRuns: 2000 },
    );
  });
});

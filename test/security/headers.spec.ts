/**
 * Header forms: only `Authorization: Bearer <one token68>` is read; every other way of sending (or
 * half-sending) a credential is refused before any signature check, and the handler never runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FiefModule } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, CLIENT, expectRefused, handlerCalls, rawRequest, startApp, TargetController } from './security-fixtures.js';

/**
 * The token with its last base64url character changed to one that decodes to the same bytes (the
 * 2 048-bit signature leaves 4 spare bits in it): the same signature under another string, which
 * must not pass as a second valid token (caches, deny-lists and logs key on the string).
 */
function withSpareBitsSet(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(token.at(-1)!);
  return token.slice(0, -1) + alphabet[last ^ 1];
}

describe.each(ADAPTERS)('header forms on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;
  let token: string;

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    ({ app, url } = await startApp(adapter, { imports: [FiefModule.forRoot({ baseURL, ...CLIENT })], controllers: [TargetController] }));
    token = await dev.issueAccessToken({ user: ANNE });
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const get = (authorization?: string, path = '/target/plain') =>
    fetch(`${url}${path}`, { headers: authorization === undefined ? {} : { authorization } });

  it('accepts the one right form (control case)', async () => {
    const before = handlerCalls.plain;
    const res = await get(`Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(handlerCalls.plain).toBe(before + 1);
  });

  it.each([
    ['lower-case scheme', (t: string) => `bearer ${t}`],
    ['upper-case scheme', (t: string) => `BEARER ${t}`],
    ['several spaces', (t: string) => `Bearer    ${t}`],
  ])('accepts a %s (RFC 6750 §2.1: case-insensitive scheme, 1*SP)', async (_label, header) => {
    const before = handlerCalls.plain;
    expect((await get(header(token))).status).toBe(200);
    expect(handlerCalls.plain).toBe(before + 1);
  });

  describe('401 without an error code (no bearer credential at all)', () => {
    it.each([
      ['missing', undefined],
      ['Basic scheme', 'Basic dXNlcjpwYXNz'],
      ['Digest scheme', 'Digest username="anne"'],
      ['token without a scheme', 'TOKEN'],
      ['a scheme that only starts with Bearer', 'BearerX abc'],
    ])('%s', async (_label, header) => {
      const res = await expectRefused(() => get(header === 'TOKEN' ? token : header), 401, null);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="fief"');
    });
  });

  describe('401 invalid_request (a bearer credential that is not one token68)', () => {
    it.each([
      ['empty bearer', 'Bearer'],
      ['bearer and a space', 'Bearer  '],
      ['extra words', 'Bearer TOKEN extra'],
      ['two tokens', 'Bearer TOKEN TOKEN'],
      ['trailing garbage after a space', 'Bearer TOKEN ;drop'],
      ['a comma list', 'Bearer TOKEN, Bearer TOKEN'],
      ['quotes', 'Bearer "TOKEN"'],
      ['a semicolon', 'Bearer TOKEN;'],
      ['a backslash', 'Bearer TO\\KEN'],
      ['a padding sign inside', 'Bearer TO=KEN'],
      ['a tab after the token', 'Bearer TOKEN\tx'],
      ['parameters instead of a token', 'Bearer realm="fief"'],
    ])('%s', async (_label, header) => {
      await expectRefused(() => get(header.replaceAll('TOKEN', token)), 401, 'invalid_request');
    });
  });

  describe('401 invalid_token (one token68 that is no valid token)', () => {
    it.each([
      ['trailing garbage glued to the token', (t: string) => `Bearer ${t}garbage`],
      ['a fourth segment', (t: string) => `Bearer ${t}.garbage`],
      ['a token cut short', (t: string) => `Bearer ${t.slice(0, -10)}`],
      ['a lone word', () => 'Bearer hello'],
      ['base64 padding after the signature', (t: string) => `Bearer ${t}==`],
      ['a non-canonical last signature character (same bytes, other string)', (t: string) => `Bearer ${withSpareBitsSet(t)}`],
    ])('%s', async (_label, header) => {
      await expectRefused(() => get(header(token)), 401, 'invalid_token');
    });
  });

  describe('400 invalid_request (a token in the URL or in two places, RFC 6750 §2, RFC 9700 §4.3.2)', () => {
    it('a token in the query string only', async () => {
      await expectRefused(() => fetch(`${url}/target/plain?access_token=${token}`), 400, 'invalid_request');
    });

    it.each([
      ['percent-encoded name', 'access%5Ftoken'],
      ['percent-encoded name (lower hex)', 'access%5ftoken'],
      ['fully encoded name', '%61ccess_token'],
    ])('a token in the query string under a %s, with a good header', async (_label, name) => {
      await expectRefused(
        () => fetch(`${url}/target/plain?${name}=${token}`, { headers: { authorization: `Bearer ${token}` } }),
        400,
        'invalid_request',
      );
    });

    it('a token in the header and in the query string', async () => {
      await expectRefused(
        () => fetch(`${url}/target/plain?x=1&access_token=${token}`, { headers: { authorization: `Bearer ${token}` } }),
        400,
        'invalid_request',
      );
    });

    it('an empty access_token query parameter next to a good header', async () => {
      await expectRefused(
        () => fetch(`${url}/target/plain?access_token=`, { headers: { authorization: `Bearer ${token}` } }),
        400,
        'invalid_request',
      );
    });

    it('a token in a form body and in the header', async () => {
      await expectRefused(
        () =>
          fetch(`${url}/target/plain`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
            body: `access_token=${token}`,
          }),
        400,
        'invalid_request',
      );
    });

    it('two Authorization headers, both valid', async () => {
      const before = handlerCalls.plain;
      const res = await rawRequest(
        url,
        `GET /target/plain HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}`,
      );
      expect(res.status).toBe(400);
      expect(res.headers).toMatch(/www-authenticate: Bearer realm="fief", error="invalid_request"/i);
      expect(handlerCalls.plain).toBe(before);
    });

    it('a good Authorization header followed by a bad one', async () => {
      const before = handlerCalls.plain;
      const res = await rawRequest(
        url,
        `GET /target/plain HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nauthorization: Basic dXNlcjpwYXNz`,
      );
      expect(res.status).toBe(400);
      expect(res.headers).toMatch(/www-authenticate: Bearer realm="fief", error="invalid_request"/i);
      expect(handlerCalls.plain).toBe(before);
    });
  });

  describe('oversized headers', () => {
    it('a 12 KB bearer token is parsed and refused as invalid_token, fast', async () => {
      const started = Date.now();
      await expectRefused(() => get(`Bearer ${'a'.repeat(12_000)}.${'b'.repeat(10)}.c`), 401, 'invalid_token');
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('a header beyond the HTTP server limit (64 KB) never reaches the app', async () => {
      const before = handlerCalls.plain;
      const res = await rawRequest(url, `GET /target/plain HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${'a'.repeat(64 * 1024)}`);
      expect(res.status).toBe(431);
      expect(handlerCalls.plain).toBe(before);
    });
  });
});

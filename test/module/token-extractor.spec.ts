import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { bearerHeaderExtractor, FiefInvalidRequestError, parseBearerAuthorization } from '../../lib/auth/token-extractor.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_~+/==';

function invalid(fn: () => unknown): FiefInvalidRequestError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FiefInvalidRequestError);
    return error as FiefInvalidRequestError;
  }
  throw new Error('expected a FiefInvalidRequestError');
}

describe('parseBearerAuthorization', () => {
  it('takes the token68 after a case-insensitive Bearer scheme', () => {
    expect(parseBearerAuthorization(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(parseBearerAuthorization(`bearer ${TOKEN}`)).toBe(TOKEN);
    expect(parseBearerAuthorization(`BEARER   ${TOKEN}`)).toBe(TOKEN);
  });

  it('sees no bearer credential in other schemes or no header', () => {
    expect(parseBearerAuthorization(undefined)).toBeUndefined();
    expect(parseBearerAuthorization('')).toBeUndefined();
    expect(parseBearerAuthorization('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(parseBearerAuthorization(`Bearertoken ${TOKEN}`)).toBeUndefined();
  });

  it.each(['Bearer', 'Bearer ', `Bearer ${TOKEN} extra`, 'Bearer a,b', 'Bearer "quoted"', 'Bearer =abc', 'Bearer to ken'])(
    'refuses the malformed %j with 401',
    (header) => {
      expect(invalid(() => parseBearerAuthorization(header)).status).toBe(401);
    },
  );

  it('returns exactly the token for any token68', () => {
    const token68 = fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,40}$/), fc.stringMatching(/^={0,2}$/))
      .map(([body, pad]) => body + pad);
    fc.assert(fc.property(token68, (token) => parseBearerAuthorization(`Bearer ${token}`) === token));
  });
});

describe('bearerHeaderExtractor', () => {
  const request = (extra: Record<string, unknown>) => ({ url: '/castles', headers: {}, ...extra });

  it('reads the Authorization header', () => {
    expect(bearerHeaderExtractor.extract(request({ headers: { authorization: `Bearer ${TOKEN}` } }))).toBe(TOKEN);
    expect(bearerHeaderExtractor.extract(request({}))).toBeUndefined();
  });

  it('refuses a token in the query string, with or without a header (RFC 9700, RFC 6750 §2)', () => {
    expect(invalid(() => bearerHeaderExtractor.extract(request({ url: `/castles?access_token=${TOKEN}` }))).status).toBe(400);
    expect(
      invalid(() =>
        bearerHeaderExtractor.extract(request({ url: `/castles?a=1&access_token=x`, headers: { authorization: `Bearer ${TOKEN}` } })),
      ).status,
    ).toBe(400);
    expect(bearerHeaderExtractor.extract(request({ url: '/castles?my_access_token=1' }))).toBeUndefined();
  });

  it('refuses a token in a form body, but not a JSON field of that name', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect(invalid(() => bearerHeaderExtractor.extract(request({ headers: form, body: { access_token: TOKEN } }))).status).toBe(400);
    expect(
      bearerHeaderExtractor.extract(request({ headers: { 'content-type': 'application/json' }, body: { access_token: 'data' } })),
    ).toBeUndefined();
  });

  it('refuses repeated Authorization headers, seen in the raw headers of Express or Fastify', () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const rawHeaders = ['Authorization', `Bearer ${TOKEN}`, 'authorization', 'Bearer other'];
    expect(invalid(() => bearerHeaderExtractor.extract(request({ headers, rawHeaders }))).status).toBe(400);
    expect(invalid(() => bearerHeaderExtractor.extract(request({ headers, raw: { rawHeaders } }))).status).toBe(400);
    expect(bearerHeaderExtractor.extract(request({ headers, rawHeaders: ['Authorization', `Bearer ${TOKEN}`] }))).toBe(TOKEN);
  });
});

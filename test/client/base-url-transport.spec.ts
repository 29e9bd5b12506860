/**
 * Issue 10 §6: a `baseURL` over plain http is refused at start-up unless it is loopback (the dev
 * server, tests) or the app says `allowInsecureHttp: true`; tokens, codes and the client secret
 * must not cross a network in clear by a typo.
 */
import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { FiefClient, FiefError, FiefModule } from '../../lib/index.js';

const client = (baseURL: string, extra: Record<string, unknown> = {}) => new FiefClient({ baseURL, clientId: 'id', clientSecret: 'secret', ...extra });

describe('baseURL transport', () => {
  it.each([
    'http://fief.example.com',
    'http://example.fief.dev/tenant',
    'http://10.0.0.5:8000',
    'http://192.168.1.10',
    'http://[::ffff:7f00:1]',
    'http://[2001:db8::1]',
    'http://localhost.evil.example',
    'http://127.0.0.1.nip.io',
    'HTTP://FIEF.EXAMPLE.COM',
  ])('refuses %s at construction, saying how to fix it', (baseURL) => {
    expect(() => client(baseURL)).toThrow(FiefError);
    expect(() => client(baseURL)).toThrow(/http:\/\/ on a host that is not loopback.*https:\/\/.*allowInsecureHttp: true/);
  });

  it.each(['http://localhost:8000', 'http://LOCALHOST', 'http://127.0.0.1:9', 'http://127.1.2.3', 'http://[::1]:8000/tenant', 'https://fief.example.com'])(
    'accepts %s',
    (baseURL) => {
      expect(() => client(baseURL)).not.toThrow();
    },
  );

  it('accepts a non-loopback http baseURL when allowInsecureHttp is true, and only a boolean there', () => {
    expect(client('http://fief.internal:8000', { allowInsecureHttp: true }).baseURL).toBe('http://fief.internal:8000');
    expect(() => client('http://fief.internal:8000', { allowInsecureHttp: false })).toThrow(/allowInsecureHttp/);
    expect(() => client('https://fief.example.com', { allowInsecureHttp: 'yes' })).toThrow(/allowInsecureHttp must be true or false/);
  });

  it('fails the Nest app at start-up, not at the first request', async () => {
    const compile = Test.createTestingModule({ imports: [FiefModule.forRoot({ baseURL: 'http://fief.example.com', clientId: 'id', clientSecret: 'secret' })] }).compile();
    await expect(compile).rejects.toThrow(/not loopback/);
    const allowed = await Test.createTestingModule({
      imports: [FiefModule.forRoot({ baseURL: 'http://fief.example.com', clientId: 'id', clientSecret: 'secret', allowInsecureHttp: true })],
    }).compile();
    await allowed.close();
  });
});

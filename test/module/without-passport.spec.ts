import { describe, expect, it, jest } from '@jest/globals';
import { Test } from '@nestjs/testing';

// As if @nestjs/passport were not installed: the strategy module fails to load the way Node reports it.
jest.unstable_mockModule('../../lib/auth/fief.strategy.js', () => {
  throw Object.assign(new Error("Cannot find package '@nestjs/passport'"), { code: 'ERR_MODULE_NOT_FOUND' });
});

const { FiefModule, FiefService, FIEF_PASSPORT_STRATEGY } = await import('../../lib/index.js');
// Internal since the public API is by name: imported by path.
const { FiefPassportInterceptor } = await import('../../lib/auth/fief-passport.interceptor.js');

describe('FiefModule without passport', () => {
  it('boots without the strategy', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [FiefModule.forRoot({ baseURL: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret' })],
    })
      .setLogger({ log: () => {}, error: () => {}, warn: () => {} })
      .compile();
    expect(moduleRef.get(FiefService)).toBeInstanceOf(FiefService);
    expect(moduleRef.get(FIEF_PASSPORT_STRATEGY)).toBeNull();
    await moduleRef.close();
  });

  it('registers neither the strategy nor its interceptor with passport: false', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [FiefModule.forRoot({ baseURL: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret', passport: false })],
    }).compile();
    expect(() => moduleRef.get(FIEF_PASSPORT_STRATEGY)).toThrow();
    await moduleRef.close();
    const options = { baseURL: 'http://127.0.0.1:9', clientId: 'id' };
    const interceptors = (passport?: boolean) =>
      (FiefModule.forRoot({ ...options, passport }).providers ?? []).filter(
        (provider) => (provider as { useClass?: unknown }).useClass === FiefPassportInterceptor,
      );
    expect(interceptors(false)).toHaveLength(0);
    expect(interceptors(undefined)).toHaveLength(1);
  });
});

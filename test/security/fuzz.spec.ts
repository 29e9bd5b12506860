/**
 * Property-based fuzzing (fast-check) of the `Authorization` header and of the cookies the login
 * flow reads: whatever arrives, the answer is a 400/401 from the guard or the auth controller,
 * never a 500 or a pass, the handler never runs, and the answer comes within a bound.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { FiefModule, sanitizeReturnTo } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import {
  accessClaims,
  ADAPTERS,
  ANNE,
  CLIENT,
  forgeJwt,
  startApp,
  TargetController,
  toKeyObject,
  totalHandlerCalls,
  type ForgeKey,
} from './security-fixtures.js';

/**
 * Runs per property and adapter: enough to hit every branch of the parsers, cheap on 2 cores.
 * Raise it for a longer campaign: `FUZZ_RUNS=5000 npm test -- test/security/fuzz`.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const ANSWER_BOUND_MS = 2000;
const SECRET = 'security-suite-cookie-secret-0123456789abcdef';
const REDIRECT_URI = 'https://app.example/auth/callback';

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const base64urlChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
const token68Char = fc.oneof(base64urlChar, fc.constantFrom('.', '~', '+', '/', '=', ' ', '"', ',', ';', '\\', '%'));
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
/**
 * A value of a type no claim it is put in accepts. `null` is left out for `permissions` (read as
 * none, which grants nothing) and `acr` is not fuzzed (absent means "0", the lowest level).
 */
const wrongType = (claim: string) =>
  fc.oneof(
    fc.boolean(),
    ...(claim === 'permissions' ? [] : [fc.constant(null)]),
    fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { minKeys: 1, maxKeys: 3 }),
  );

interface Outcome {
  status: number;
  challenge: string | null;
  retryAfter: string | null;
  ms: number;
  handled: boolean;
}

async function send(url: string, init: RequestInit): Promise<Outcome> {
  const before = totalHandlerCalls();
  const started = performance.now();
  const res = await fetch(url, { redirect: 'manual', ...init });
  await res.arrayBuffer();
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    retryAfter: res.headers.get('retry-after'),
    ms: performance.now() - started,
    handled: totalHandlerCalls() !== before,
  };
}

/**
 * Refused by the guard, no handler run, within the bound: 400/401 with a well-formed challenge, or
 * 503 + Retry-After for a fresh token naming a key the app has not seen (an edit of the header can
 * change the kid; such a key may have been rotated in since the last fetch).
 */
function expectGuardRefusal(outcome: Outcome, input: unknown): void {
  const refused =
    ((outcome.status === 400 || outcome.status === 401) &&
      /^Bearer realm="fief"(, error="(invalid_request|invalid_token)", error_description="[^"]*")?$/.test(outcome.challenge ?? '')) ||
    (outcome.status === 503 && /^\d+$/.test(outcome.retryAfter ?? ''));
  if (!refused || outcome.handled || outcome.ms >= ANSWER_BOUND_MS) {
    throw new Error(`unexpected answer ${JSON.stringify(outcome)} for ${JSON.stringify(input).slice(0, 400)}`);
  }
}

describe.each(ADAPTERS)('fuzzing on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;
  let token: string;
  let realKey: ForgeKey;
  let kid: string;
  let sub: string;

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    const baseURL = await dev.start();
    ({ app, url } = await startApp(adapter, {
      imports: [FiefModule.forRoot({ baseURL, ...CLIENT, requestTimeout: 2000, login: { redirectUri: REDIRECT_URI, cookieSecret: SECRET } })],
      controllers: [TargetController],
    }));
    token = await dev.issueAccessToken({ user: ANNE });
    realKey = { kind: 'rsa', key: toKeyObject(dev.signingKey.privateKey) };
    kid = dev.signingKey.kid;
    sub = dev.findUser(ANNE)!.id!;
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const withAuthorization = async (authorization: string, path = '/target/permission') => {
    const outcome = await send(`${url}${path}`, { headers: { authorization } });
    expectGuardRefusal(outcome, authorization);
  };

  it('the valid token passes (control case: the properties below could fail)', async () => {
    const outcome = await send(`${url}/target/plain`, { headers: { authorization: `Bearer ${token}` } });
    expect(outcome).toMatchObject({ status: 200, handled: true });
  });

  it('any printable Authorization header', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: printable, maxLength: 400 }), (header) => withAuthorization(header)), { numRuns: RUNS });
  });

  it('Bearer followed by token68-ish noise', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('Bearer ', 'bearer ', 'BEARER  '), fc.string({ unit: token68Char, maxLength: 600 }), (scheme, rest) =>
        withAuthorization(`${scheme}${rest}`),
      ),
      { numRuns: RUNS },
    );
  });

  it('the valid token with one character replaced, inserted or removed', async () => {
    // The last character is left alone: some of its bits are spare (see headers.spec.ts).
    const position = fc.integer({ min: 0, max: token.length - 2 });
    const edit = fc.oneof(
      fc.tuple(fc.constant('replace' as const), position, base64urlChar),
      fc.tuple(fc.constant('insert' as const), position, fc.oneof(base64urlChar, fc.constant('.'))),
      fc.tuple(fc.constant('remove' as const), position, fc.constant('')),
    );
    await fc.assert(
      fc.asyncProperty(
        edit.filter(([kind, at, char]) => kind !== 'replace' || token[at] !== char),
        async ([kind, at, char]) => {
          const mutated = token.slice(0, at) + (kind === 'remove' ? '' : char) + token.slice(kind === 'insert' ? at : at + 1);
          await withAuthorization(`Bearer ${mutated}`, '/target/plain');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('JWT-shaped tokens with random JSON headers and payloads', async () => {
    const header = fc.record(
      {
        alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'PS256', 'rs256', ''),
        kid: fc.oneof(fc.constant(kid), fc.string({ maxLength: 40 }), fc.integer()),
        typ: fc.constantFrom('JWT', 'at+jwt', 'JWE'),
        extra: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(header, fc.jsonValue({ maxDepth: 3 }), fc.string({ unit: base64urlChar, maxLength: 400 }), (head, payload, signature) =>
        withAuthorization(`Bearer ${b64(head)}.${b64(payload)}.${signature}`),
      ),
      { numRuns: RUNS },
    );
  });

  it('tokens signed by the real key with one claim of a wrong type', async () => {
    const claim = fc.constantFrom('exp', 'iat', 'nbf', 'sub', 'iss', 'aud', 'azp', 'scope', 'permissions');
    await fc.assert(
      fc.asyncProperty(claim.chain((name) => fc.tuple(fc.constant(name), wrongType(name))), ([name, value]) =>
        withAuthorization(`Bearer ${forgeJwt({ alg: 'RS256', kid }, accessClaims(dev.issuer, sub, { [name]: value }), realKey)}`, '/target/plain'),
      ),
      { numRuns: RUNS },
    );
  });

  it('any session cookie value on a guarded route: no credential (401, no error code)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: printable, maxLength: 600 }), async (value) => {
        const cookie = `fief_session=${value}`;
        const outcome = await send(`${url}/target/plain`, { headers: { cookie } });
        expectGuardRefusal(outcome, cookie);
        if (outcome.challenge !== 'Bearer realm="fief"') throw new Error(`a challenge with an error code for ${JSON.stringify(cookie)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('any transaction cookie and state on the login callback: 400, no token request', async () => {
    const { headers } = await fetch(`${url}/auth/login`, { redirect: 'manual' });
    const cookieName = headers.getSetCookie()[0].split('=')[0];
    dev.resetRequestCounts();
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: printable, maxLength: 400 }),
        fc.string({ unit: base64urlChar, maxLength: 64 }),
        fc.constantFrom(cookieName, 'fief_login', `${cookieName}x`),
        async (value, state, name) => {
          const started = performance.now();
          const res = await fetch(`${url}/auth/callback?code=abc&state=${state}`, { redirect: 'manual', headers: { cookie: `${name}=${value}` } });
          await res.arrayBuffer();
          if (res.status !== 400 || res.headers.getSetCookie().some((line) => line.startsWith('fief_session=') && !/max-age=0/i.test(line))) {
            throw new Error(`callback answered ${res.status} for ${name}=${value} state=${state}`);
          }
          if (performance.now() - started >= ANSWER_BOUND_MS) throw new Error('callback too slow');
        },
      ),
      { numRuns: RUNS },
    );
    expect(dev.requestCounts.token).toBe(0);
  });
});

describe('post-login redirect targets (sanitizeReturnTo, what the callback redirects to)', () => {
  const APP = 'https://app.example';
  const pieces = fc.constantFrom('/', '//', '\\', '%2F', '%2f', '%5C', '%252F', '%09', '\t', '\n', ' ', '@', ':', '.', '..', '#', '?', 'evil.example', 'https:', 'javascript:', 'app', '%00', 'x');

  it('whatever is asked, the browser stays on the app origin', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(pieces, { maxLength: 8 }).map((parts) => parts.join('')), fc.webUrl(), fc.string({ unit: printable, maxLength: 60 })), (asked) => {
        const target = sanitizeReturnTo(asked);
        expect(target.startsWith('/')).toBe(true);
        // Browsers drop tabs and newlines and read `\` as `/` before resolving.
        const asBrowserReads = target.replace(/[\t\n\r]/g, '').replaceAll('\\', '/');
        expect(new URL(asBrowserReads, APP).origin).toBe(APP);
        expect(new URL(decodeURIComponent(asBrowserReads), APP).origin).toBe(APP);
      }),
      { numRuns: 3000 },
    );
  });
});

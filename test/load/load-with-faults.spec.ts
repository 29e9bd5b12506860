/**
 * Bounded load with faults: a few thousand requests from concurrent clients on 127.0.0.1, mixing
 * valid, forged and expired tokens, while the signing key rotates once and Fief goes away and
 * comes back. No invalid request may pass, nothing may answer 500, a valid request may only get a
 * 503 around the outage, and the heap must not keep what the traffic left behind (caches bounded).
 */
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FiefModule } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { accessClaims, ANNE, CLIENT, forgeJwt, handlerCalls, rsaKey, startApp, TargetController, toKeyObject } from '../security/security-fixtures.js';

const CONCURRENCY = 32;
const ROUND_REQUESTS = 2000;
/** Hard cap whatever the pace, so a slow machine cannot make the test run away. */
const MAX_REQUESTS = 8000;
const ROTATE_AT_MS = 1200;
const DOWN_AT_MS = 2500;
const UP_AT_MS = 4000;
const MIN_ROUND_MS = 5000;
const TOKEN_CACHE_ENTRIES = 200;

type Kind = 'valid' | 'valid-user' | 'tampered' | 'foreign' | 'expired' | 'other-audience';
const MIX: Kind[] = ['valid', 'valid', 'valid-user', 'tampered', 'valid', 'foreign', 'expired', 'other-audience'];

interface Sample {
  kind: Kind;
  status: number;
  sentAt: number;
  ms: number;
}

/** The heap after a full collection, when the runtime lets us trigger one (else as it is). */
function settledHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const tamper = (token: string) => `${token.slice(0, -20)}${token.at(-20) === 'A' ? 'B' : 'A'}${token.slice(-19)}`;

describe('bounded load while the key rotates and Fief goes down and up', () => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;
  let sub: string;
  const foreignKey = rsaKey();

  beforeAll(async () => {
    dev = new FiefDevServer();
    const baseURL = await dev.start();
    ({ app, url } = await startApp('express', {
      imports: [
        FiefModule.forRoot({
          baseURL,
          ...CLIENT,
          // Bounds each call to Fief; generous, as the dev server shares 2 loaded cores with the traffic.
          requestTimeout: 2000,
          jwksCooldown: 1,
          retryAfter: 2,
          tokenCache: { maxEntries: TOKEN_CACHE_ENTRIES },
          userInfoCacheMaxEntries: 50,
        }),
      ],
      controllers: [TargetController],
    }));
    sub = dev.findUser(ANNE)!.id!;
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  /** Distinct valid tokens of the current signing key (a jti makes each one new to the caches). */
  const validTokens = (count: number) =>
    Promise.all(Array.from({ length: count }, () => dev.issueAccessToken({ user: ANNE, claims: { jti: randomUUID() } })));

  async function round(options: { events: boolean; requests: number }) {
    let pool = await validTokens(150);
    const signingKey = { kind: 'rsa' as const, key: toKeyObject(dev.signingKey.privateKey) };
    const invalid = {
      tampered: pool.slice(0, 20).map(tamper),
      // Under the real kid: bursts of unknown kids are the fault suite's; here they would keep the JWKS
      // refetch cooldown busy and turn the rotation into a race (see fief-faults.spec.ts).
      foreign: Array.from({ length: 20 }, () =>
        forgeJwt({ alg: 'RS256', kid: dev.signingKey.kid }, accessClaims(dev.issuer, sub, { jti: randomUUID() }), { kind: 'rsa', key: foreignKey }),
      ),
      expired: await Promise.all(Array.from({ length: 20 }, () => dev.issueAccessToken({ user: ANNE, expiresIn: -3600, claims: { jti: randomUUID() } }))),
      'other-audience': Array.from({ length: 20 }, () =>
        forgeJwt(
          { alg: 'RS256', kid: dev.signingKey.kid },
          accessClaims(dev.issuer, sub, { aud: ['other-client'], azp: 'other-client', jti: randomUUID() }),
          signingKey,
        ),
      ),
    };
    const samples: Sample[] = [];
    const timers: NodeJS.Timeout[] = [];
    let downAt = Infinity;
    let upAt = Infinity;
    const started = performance.now();
    if (options.events) {
      timers.push(
        setTimeout(() => {
          // New tokens come from the new key as soon as they are signed; the old ones keep flowing.
          void dev.rotateSigningKey().then(async () => (pool = [...pool.slice(0, 50), ...(await validTokens(100))]));
        }, ROTATE_AT_MS),
        setTimeout(() => {
          downAt = performance.now() - started;
          dev.setFault('all', 'down');
        }, DOWN_AT_MS),
        setTimeout(() => {
          dev.setFault('all', null);
          upAt = performance.now() - started;
        }, UP_AT_MS),
      );
    }
    let sent = 0;
    const worker = async () => {
      while (sent < MAX_REQUESTS && (sent < options.requests || (options.events && performance.now() - started < MIN_ROUND_MS))) {
        const index = sent++;
        const kind = MIX[index % MIX.length];
        const token =
          kind === 'valid' || kind === 'valid-user' ? pool[index % pool.length] : invalid[kind][index % invalid[kind].length];
        const sentAt = performance.now() - started;
        const res = await fetch(`${url}${kind === 'valid-user' ? '/target/me' : '/target/plain'}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await res.arrayBuffer();
        samples.push({ kind, status: res.status, sentAt, ms: performance.now() - started - sentAt });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    timers.forEach(clearTimeout);
    dev.setFault('all', null);
    return { samples, elapsed: performance.now() - started, downAt, upAt };
  }

  it('no invalid request passes, no 500, valid ones get 200 (or 503 only around the outage), and the heap settles', async () => {
    await round({ events: false, requests: 300 }); // warm-up: JIT, connection pools, caches at their bounds
    const baseline = settledHeap();
    const handledBefore = handlerCalls.plain + handlerCalls.me;

    const { samples, elapsed, downAt, upAt } = await round({ events: true, requests: ROUND_REQUESTS });
    const afterFaults = settledHeap();

    const statuses = (kinds: Kind[]) => [...new Set(samples.filter((s) => kinds.includes(s.kind)).map((s) => s.status))].sort();
    const invalidKinds: Kind[] = ['tampered', 'foreign', 'expired', 'other-audience'];
    expect(samples.length).toBeGreaterThanOrEqual(ROUND_REQUESTS);
    expect(samples.filter((s) => s.status >= 500 && s.status !== 503)).toEqual([]);
    expect(samples.filter((s) => invalidKinds.includes(s.kind) && s.status === 200)).toEqual([]);
    for (const kind of invalidKinds) expect([kind, statuses([kind]).every((status) => status === 401 || status === 503)]).toEqual([kind, true]);
    // A 503 for a valid token only while Fief was down, or until the JWKS cooldown (1 s) and a
    // request timeout after it came back.
    const validSamples = samples.filter((s) => s.kind === 'valid' || s.kind === 'valid-user');
    const misplaced = validSamples.filter((s) => s.status !== 200 && !(s.status === 503 && s.sentAt + s.ms >= downAt && s.sentAt <= upAt + 3000));
    expect(misplaced).toEqual([]);
    expect(handlerCalls.plain + handlerCalls.me - handledBefore).toBe(validSamples.filter((s) => s.status === 200).length);
    expect(downAt).toBeLessThan(upAt);

    // Same traffic again, without faults: the heap must not grow with it.
    await round({ events: false, requests: 1000 });
    const afterSecondRound = settledHeap();
    const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
    const latencies = samples.map((s) => s.ms).sort((a, b) => a - b);
    console.info(
      `load: ${samples.length} requests in ${Math.round(elapsed)} ms (${Math.round((samples.length / elapsed) * 1000)} req/s), ` +
        `p50 ${latencies[Math.floor(latencies.length / 2)].toFixed(1)} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)].toFixed(1)} ms, ` +
        `503 for valid tokens: ${validSamples.filter((s) => s.status === 503).length}, ` +
        `heap ${mb(baseline)} → ${mb(afterFaults)} → ${mb(afterSecondRound)} MB`,
    );
    expect(afterFaults - baseline).toBeLessThan(32 * 1024 * 1024);
    expect(afterSecondRound - afterFaults).toBeLessThan(8 * 1024 * 1024);
  }, 60_000);
});

/**
 * `npm run bench`: what the guard costs per request, against an unguarded route of the same app and
 * against passport-jwt + jwks-rsa, on Express and Fastify. Routes are driven in interleaved rounds so
 * that machine noise hits them all alike. Prints a table and writes bench-results/latest.json.
 *
 * Knobs (environment): BENCH_DURATION seconds per route and round (default 3), BENCH_ROUNDS (default 5),
 * BENCH_CONNECTIONS (default 10), BENCH_TOKENS distinct tokens of the "many" mix (default 20000, more
 * than the verified-token cache holds, so every request misses it), BENCH_MEMORY_TOKENS distinct tokens sent
 * once each through the guard to watch the heap (default 100000), BENCH_ADAPTERS (default "express,fastify").
 */
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FiefDevServer } from '../../lib/testing/index.js';

const duration = Number(process.env.BENCH_DURATION ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const distinctTokens = Number(process.env.BENCH_TOKENS ?? 20_000);
const memoryTokens = Math.max(distinctTokens, Number(process.env.BENCH_MEMORY_TOKENS ?? 100_000));
/** The verified-token cache's default byte bound (FiefClient tokenCache.maxBytes): the heap may not grow past it. */
const CACHE_MAX_BYTES = 16 * 2 ** 20;
const adapters = (process.env.BENCH_ADAPTERS ?? 'express,fastify').split(',');
const coldBurst = 200;

/**
 * pass-guard (a guard returning true) and attach-guard (one setting request.user and request.fief, checking
 * nothing) split the guard's cost: Nest's guard pipeline, the request properties, then our own checks.
 */
const HOT_ROUTES = ['unguarded', 'pass-guard', 'attach-guard', 'guard', 'guard-permissions', 'passport-fief', 'current-user', 'baseline'];
const MANY_ROUTES = ['unguarded', 'guard', 'guard-permissions', 'passport-fief', 'baseline'];

interface App {
  url: string;
  child: ChildProcess;
  ask<T>(type: string): Promise<T>;
  stop(): Promise<void>;
}

interface RouteStats {
  requests: number;
  seconds: number;
  cpuMicros: number;
  p50: number[];
  p99: number[];
  errors: number;
}

interface Row {
  adapter: string;
  mix: string;
  route: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerRequest: number;
  vsUnguarded: number;
  vsBaseline: number;
  errors: number;
}

const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));

async function startApp(adapter: string, dev: FiefDevServer): Promise<App> {
  const client = dev.clients[0];
  const child = fork(appScript, [adapter, dev.baseURL, dev.issuer, client.clientId, client.clientSecret ?? ''], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench app exited with ${code}`)));
    child.on('message', (message: { type: string; url?: string }) => {
      if (message.type === 'ready') resolve(message.url!);
    });
  });
  const ask = <T>(type: string) =>
    new Promise<T>((resolve) => {
      const listener = (message: { type: string }) => {
        if (message.type === type) {
          child.off('message', listener);
          resolve(message as T);
        }
      };
      child.on('message', listener);
      child.send({ type });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.removeAllListeners('exit');
      child.once('exit', () => resolve());
      child.send({ type: 'stop' });
    });
  return { url, child, ask, stop };
}

/**
 * Where each pool is in its turn, across routes and rounds: restarting at the first token for every
 * route would hand the next route the tokens the previous one just put in the verified-token cache,
 * and the "many" mix would measure cache hits. Cycling a pool larger than the cache never hits it.
 */
const cursors = new Map<string[], number>();

/** Drives one route for `duration` seconds; tokens are taken in turn from the pool. */
async function drive(app: App, route: string, tokens: string[]): Promise<autocannon.Result> {
  let next = cursors.get(tokens) ?? 0;
  const result = await autocannon({
    url: `${app.url}/${route}`,
    connections,
    duration,
    requests: [
      {
        setupRequest: (request: autocannon.Request) => {
          const token = tokens[next++ % tokens.length];
          request.headers = { ...request.headers, authorization: `Bearer ${token}` };
          return request;
        },
      },
    ],
  });
  cursors.set(tokens, next % tokens.length);
  return result;
}

async function measure(app: App, routes: string[], tokens: string[]): Promise<Map<string, RouteStats>> {
  const stats = new Map<string, RouteStats>(
    routes.map((route) => [route, { requests: 0, seconds: 0, cpuMicros: 0, p50: [], p99: [], errors: 0 }]),
  );
  // Warm-up: JIT, discovery, keys, caches.
  for (const route of routes) await drive(app, route, tokens.slice(0, 1));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order every round so no route always runs first or last.
    const order = routes.map((_, i) => routes[(i + round) % routes.length]);
    for (const route of order) {
      const before = await app.ask<{ micros: number }>('cpu');
      const result = await drive(app, route, tokens);
      const after = await app.ask<{ micros: number }>('cpu');
      const entry = stats.get(route)!;
      entry.requests += result.requests.total;
      entry.seconds += result.duration;
      entry.cpuMicros += after.micros - before.micros;
      entry.p50.push(result.latency.p50);
      entry.p99.push(result.latency.p99);
      entry.errors += result.non2xx + result.errors + result.timeouts;
    }
  }
  return stats;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const round2 = (value: number) => Math.round(value * 100) / 100;

function rows(adapter: string, mix: string, stats: Map<string, RouteStats>): Row[] {
  const rate = (route: string) => stats.get(route)!.requests / stats.get(route)!.seconds;
  return [...stats].map(([route, s]) => ({
    adapter,
    mix,
    route,
    reqPerSec: Math.round(rate(route)),
    p50Ms: round2(mean(s.p50)),
    p99Ms: round2(mean(s.p99)),
    cpuMicrosPerRequest: Math.round(s.cpuMicros / s.requests),
    vsUnguarded: round2(rate(route) / rate('unguarded')),
    vsBaseline: round2(rate(route) / rate('baseline')),
    errors: s.errors,
  }));
}

async function coldStart(adapter: string, dev: FiefDevServer, token: string) {
  const app = await startApp(adapter, dev);
  dev.resetRequestCounts();
  const statuses = await Promise.all(
    Array.from({ length: coldBurst }, () =>
      fetch(`${app.url}/guard`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status),
    ),
  );
  const counts = { ...dev.requestCounts };
  await app.stop();
  return {
    adapter,
    burst: coldBurst,
    ok: statuses.filter((s) => s === 200).length,
    discoveryFetches: counts.discovery,
    jwksFetches: counts.jwks,
  };
}

/** A fresh app (empty caches), warmed with one token, then every token once: the heap it keeps. */
async function memory(adapter: string, dev: FiefDevServer, warm: string, tokens: string[]) {
  const app = await startApp(adapter, dev);
  await drive(app, 'guard', [warm]);
  await app.ask('gc');
  const before = await app.ask<{ heap: number }>('cpu');
  // Every token once through the guard: fills the verified-token cache past its bound.
  let next = 0;
  await autocannon({
    url: `${app.url}/guard`,
    connections,
    amount: tokens.length,
    requests: [
      {
        setupRequest: (request: autocannon.Request) => {
          request.headers = { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` };
          return request;
        },
      },
    ],
  });
  await app.ask('gc');
  const after = await app.ask<{ heap: number }>('cpu');
  await app.stop();
  return {
    tokens: tokens.length,
    heapBeforeMiB: round2(before.heap / 2 ** 20),
    heapAfterMiB: round2(after.heap / 2 ** 20),
    growthMiB: round2((after.heap - before.heap) / 2 ** 20),
  };
}

function printTable(all: Row[]) {
  const header = ['adapter', 'mix', 'route', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', '× unguarded', '× baseline', 'errors'];
  const lines = all.map((r) => [r.adapter, r.mix, r.route, r.reqPerSec, r.p50Ms, r.p99Ms, r.cpuMicrosPerRequest, r.vsUnguarded, r.vsBaseline, r.errors].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(format(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(format(line));
}

function checkTargets(all: Row[], cold: Awaited<ReturnType<typeof coldStart>>[], heap: Record<string, Awaited<ReturnType<typeof memory>>>) {
  const find = (adapter: string, mix: string, route: string) => all.find((r) => r.adapter === adapter && r.mix === mix && r.route === route)!;
  const targets: { target: string; value: number; ok: boolean }[] = [];
  for (const adapter of adapters) {
    const guard = find(adapter, 'hot', 'guard');
    targets.push({ target: `${adapter}: hot guard ≥ 0.92× unguarded`, value: guard.vsUnguarded, ok: guard.vsUnguarded >= 0.92 });
    targets.push({ target: `${adapter}: hot guard ≥ 2.4× passport-jwt`, value: guard.vsBaseline, ok: guard.vsBaseline >= 2.4 });
    const many = find(adapter, 'many', 'guard');
    targets.push({ target: `${adapter}: many-token guard ≥ 0.70× unguarded`, value: many.vsUnguarded, ok: many.vsUnguarded >= 0.7 });
    const passport = find(adapter, 'hot', 'passport-fief');
    const passportRatio = round2(passport.reqPerSec / guard.reqPerSec);
    targets.push({ target: `${adapter}: AuthGuard('fief') within 15% of the guard`, value: passportRatio, ok: passportRatio >= 0.85 });
    const currentUser = find(adapter, 'hot', 'current-user');
    const userRatio = round2(currentUser.reqPerSec / guard.reqPerSec);
    targets.push({ target: `${adapter}: @CurrentUser() warm within 10% of the guard`, value: userRatio, ok: userRatio >= 0.9 });
  }
  for (const c of cold) {
    targets.push({
      target: `${c.adapter}: cold burst of ${c.burst}: 1 discovery + 1 JWKS fetch, all 200`,
      value: c.discoveryFetches + c.jwksFetches,
      ok: c.discoveryFetches === 1 && c.jwksFetches === 1 && c.ok === c.burst,
    });
  }
  for (const [adapter, h] of Object.entries(heap)) {
    targets.push({
      target: `${adapter}: heap growth over ${h.tokens} distinct tokens ≤ the cache's ${CACHE_MAX_BYTES / 2 ** 20} MiB bound (MiB)`,
      value: h.growthMiB,
      ok: h.growthMiB * 2 ** 20 <= CACHE_MAX_BYTES,
    });
  }
  return targets;
}

/** Signs `count` distinct users' tokens, many at a time (WebCrypto signs off the main thread). */
async function signTokens(count: number): Promise<string[]> {
  const tokens: string[] = [];
  while (tokens.length < count) {
    const batch = Math.min(256, count - tokens.length);
    tokens.push(...(await Promise.all(Array.from({ length: batch }, () => dev.issueAccessToken({ claims: { sub: randomUUID() } })))));
  }
  return tokens;
}

const dev = new FiefDevServer();
await dev.start();
const hot = [await dev.issueAccessToken({ user: 'anne@bretagne.duchy' })];
console.log(`Signing ${memoryTokens} distinct tokens (the first ${distinctTokens} make the "many" mix)…`);
const distinct = await signTokens(memoryTokens);
const many = distinct.slice(0, distinctTokens);

const all: Row[] = [];
const cold: Awaited<ReturnType<typeof coldStart>>[] = [];
const heap: Record<string, Awaited<ReturnType<typeof memory>>> = {};
for (const adapter of adapters) {
  cold.push(await coldStart(adapter, dev, hot[0]));
  const app = await startApp(adapter, dev);
  console.log(`${adapter}: hot token…`);
  all.push(...rows(adapter, 'hot', await measure(app, HOT_ROUTES, hot)));
  console.log(`${adapter}: ${distinctTokens} distinct tokens…`);
  all.push(...rows(adapter, 'many', await measure(app, MANY_ROUTES, many)));
  await app.stop();
  console.log(`${adapter}: ${memoryTokens} distinct tokens once each, for the heap…`);
  heap[adapter] = await memory(adapter, dev, hot[0], distinct);
}
await dev.stop();

const machine = `${cpus().length} × ${cpus()[0].model}, Node ${process.version}`;
console.log(`\n${machine}; ${connections} connections, ${rounds} rounds × ${duration}s per route\n`);
printTable(all);
console.log('\nCold start:', cold);
console.log('Heap around the distinct-token run:', heap);
const targets = checkTargets(all, cold, heap);
console.log('\nTargets:');
for (const t of targets) console.log(`  ${t.ok ? 'met ' : 'MISS'}  ${t.target}: ${t.value}`);

mkdirSync('bench-results', { recursive: true });
const report = { date: new Date().toISOString(), machine, duration, rounds, connections, distinctTokens, memoryTokens, rows: all, cold, heap, targets };
writeFileSync('bench-results/latest.json', JSON.stringify(report, null, 2));
console.log('\nWritten: bench-results/latest.json');

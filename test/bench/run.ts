/**
 * `npm run bench`: what the guard costs per request, against an unguarded route of the same app, a
 * guard at the physical limit (limit-guard: the bare node:crypto verify), and passport-jwt + jwks-rsa,
 * on Express and Fastify, with 2048- and 4096-bit signing keys. Beside the many-token load a probe
 * measures an unguarded route's p99 (does verification block the event loop?), which chooses between
 * the synchronous and the thread-pool verify. Also: ten tenants mixed, and an app with an OpenTelemetry
 * SDK registered. Prints the README's table and the targets, and writes bench-results/latest.json
 * (`node .build/test/bench/print.js` prints it again). Knobs: bench-config.ts (BENCH_QUICK=1 to check).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { getSignatureVerifyMode } from '../../lib/client/rs256.js';
import { FiefDevServer, type FiefDevTenant } from '../../lib/testing/index.js';
import { quick, settings, type BenchAppConfig } from './bench-config.js';
import { drive, measure, sendEach, startApp, type App, type Spec } from './bench-driver.js';
import { printReport, round2, toRows, targets, type Cold, type Heap, type Report } from './bench-report.js';

const ANNE = 'anne@bretagne.duchy';
/** A hit never reaches the signature: the hot mix runs at one key size, Fief's own when measured. */
const hotKeySize = settings.keySizes.includes(4096) ? 4096 : settings.keySizes[0];
/** The heap run needs the most tokens, cheapest to sign at 2048 bits (the cache's bound is in bytes either way). */
const memoryKeySize = settings.keySizes.includes(2048) ? 2048 : settings.keySizes[0];
const defaultMode = getSignatureVerifyMode();
const otherMode = defaultMode === 'sync' ? 'thread-pool' : 'sync';
const slugs = Array.from({ length: settings.tenants }, (_, i) => `t${i}`);

const report: Report = {
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0].model}, Node ${process.version}`,
  load: loadavg().map((l) => l.toFixed(2)).join(' '),
  settings: { ...settings, quick, hotKeySize, verifyMode: defaultMode },
  rows: [],
  cold: [],
  heap: [],
  telemetry: [],
  notes: [],
};

/** `count` distinct users' tokens of a tenant, signed 256 at a time (WebCrypto signs off the main thread). */
async function signTokens(tenant: FiefDevTenant, count: number): Promise<string[]> {
  const tokens: string[] = [];
  while (tokens.length < count) {
    const batch = Math.min(256, count - tokens.length);
    tokens.push(...(await Promise.all(Array.from({ length: batch }, () => tenant.issueAccessToken({ claims: { sub: randomUUID() } })))));
  }
  return tokens;
}

/** Tokens of every tenant, interleaved: consecutive requests never share a tenant. */
function interleave(pools: string[][]): string[] {
  const mixed: string[] = [];
  for (let i = 0; i < Math.max(...pools.map((p) => p.length)); i++) for (const pool of pools) if (i < pool.length) mixed.push(pool[i]);
  return mixed;
}

async function coldStart(config: BenchAppConfig, keySize: number, dev: FiefDevServer, token: string): Promise<Cold> {
  const app = await startApp(config);
  dev.resetRequestCounts();
  const statuses = await Promise.all(
    Array.from({ length: settings.coldBurst }, () => fetch(`${app.url}/guard`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status)),
  );
  const counts = { ...dev.requestCounts };
  await app.stop();
  return {
    adapter: config.adapter,
    keySize,
    burst: settings.coldBurst,
    ok: statuses.filter((s) => s === 200).length,
    discoveryFetches: counts.discovery,
    jwksFetches: counts.jwks,
  };
}

/** A fresh app (empty caches), warmed with one token, then every token once: the heap it keeps. */
async function memory(config: BenchAppConfig, keySize: number, warm: string, tokens: string[]): Promise<Heap> {
  const app = await startApp({ ...config, tokenCacheEntries: undefined });
  await drive(app, 'guard', [warm], settings.warmup);
  await app.ask('gc');
  const before = await app.ask<{ heap: number }>('cpu');
  await sendEach(app, 'guard', tokens);
  await app.ask('gc');
  const after = await app.ask<{ heap: number }>('cpu');
  await app.stop();
  return {
    adapter: config.adapter,
    keySize,
    tokens: tokens.length,
    heapBeforeMiB: round2(before.heap / 2 ** 20),
    heapAfterMiB: round2(after.heap / 2 ** 20),
    growthMiB: round2((after.heap - before.heap) / 2 ** 20),
  };
}

/** The multi-tenant app, or `undefined` (with a note) when this FiefModule has no tenants yet. */
async function startTenantsApp(config: BenchAppConfig, dev: FiefDevServer, perTenantPool: number): Promise<App | undefined> {
  const tenants = slugs.map((slug) => {
    const tenant = dev.tenant(slug);
    const client = tenant.clients[0];
    return { name: slug, baseURL: tenant.baseURL, clientId: client.clientId, clientSecret: client.clientSecret ?? '' };
  });
  try {
    // Each tenant's cache a little smaller than its share of the pool: the many mix misses as the one-tenant app's does.
    return await startApp({ ...config, tenants, tokenCacheEntries: Math.floor(perTenantPool * 0.8) });
  } catch (error) {
    const note = `ten tenants mixed: the app did not start (${(error as Error).message}); FiefModule's tenants option is needed`;
    if (!report.notes.includes(note)) report.notes.push(note);
    return undefined;
  }
}

for (const keySize of settings.keySizes) {
  console.log(`${keySize}-bit keys: starting the dev server with ${slugs.length} extra tenants…`);
  const dev = new FiefDevServer({ keySize, tenants: Object.fromEntries(slugs.map((slug) => [slug, {}])) });
  await dev.start();
  const main = dev.tenant();
  const hot = [await main.issueAccessToken({ user: ANNE })];
  const signCount = keySize === memoryKeySize ? Math.max(settings.tokens, settings.memoryTokens) : settings.tokens;
  console.log(`${keySize}: signing ${signCount} distinct tokens, and ${settings.tokens / 4} across ${slugs.length} tenants…`);
  const distinct = await signTokens(main, signCount);
  const many = distinct.slice(0, settings.tokens);
  const perTenant = Math.ceil(settings.tokens / 4 / slugs.length);
  const tenantsHot = interleave(await Promise.all(slugs.map((slug) => signTokens(dev.tenant(slug), 1))));
  const tenantsMany = interleave(await Promise.all(slugs.map((slug) => signTokens(dev.tenant(slug), perTenant))));

  const client = main.clients[0];
  for (const adapter of settings.adapters) {
    const config: BenchAppConfig = {
      adapter,
      baseURL: main.baseURL,
      issuer: main.issuer,
      clientId: client.clientId,
      clientSecret: client.clientSecret ?? '',
      publicJwk: main.signingKey.publicJwk as Record<string, unknown>,
      verifyMode: defaultMode,
      telemetry: false,
      tokenCacheEntries: settings.tokenCacheEntries,
    };
    report.cold.push(await coldStart(config, keySize, dev, hot[0]));
    const app = await startApp(config);
    const alt = await startApp({ ...config, verifyMode: otherMode });
    const otel = await startApp({ ...config, telemetry: true });
    const tenants = await startTenantsApp(config, dev, perTenant);
    // What ten tenants are compared with: one tenant in a process of its own, started and driven as the
    // tenants app is (the main app serves every route, and a process's history moves its figures by 5-20%),
    // its pool and cache the same sizes as the ten tenants' together.
    const one = tenants && (await startApp({ ...config, tokenCacheEntries: Math.floor(perTenant * 0.8) * slugs.length }));
    const oneMany = distinct.slice(0, tenantsMany.length);
    const extra = (spec: Spec | false) => (spec ? [spec] : []);

    if (keySize === hotKeySize) {
      console.log(`${adapter} ${keySize}: hot token…`);
      const routes = ['unguarded', 'pass-guard', 'attach-guard', 'guard', 'passport-fief', 'current-user', 'baseline'];
      const specs: Spec[] = [
        ...routes.map((route) => ({ label: route, app, route, tokens: hot })),
        { label: 'unguarded [otel sdk]', app: otel, route: 'unguarded', tokens: hot },
        { label: 'guard [otel sdk]', app: otel, route: 'guard', tokens: hot },
        ...extra(tenants !== undefined && { label: 'guard [10 tenants]', app: tenants, route: 'guard', tokens: tenantsHot }),
        ...extra(one !== undefined && { label: 'guard [1 tenant]', app: one, route: 'guard', tokens: hot }),
      ];
      report.rows.push(...toRows(adapter, keySize, 'hot', await measure(specs)));
    }

    console.log(`${adapter} ${keySize}: ${settings.tokens} distinct tokens, with the probe…`);
    const specs: Spec[] = [
      ...['unguarded', 'limit-guard', 'guard', 'baseline'].map((route) => ({ label: route, app, route, tokens: many, probe: true })),
      { label: `guard [${otherMode}]`, app: alt, route: 'guard', tokens: many, probe: true },
      { label: 'unguarded [otel sdk]', app: otel, route: 'unguarded', tokens: many, probe: true },
      { label: 'guard [otel sdk]', app: otel, route: 'guard', tokens: many, probe: true },
      ...extra(tenants !== undefined && { label: 'guard [10 tenants]', app: tenants, route: 'guard', tokens: tenantsMany, probe: true }),
      ...extra(one !== undefined && { label: 'guard [1 tenant]', app: one, route: 'guard', tokens: oneMany, probe: true }),
    ];
    report.rows.push(...toRows(adapter, keySize, 'many', await measure(specs)));
    report.telemetry.push({ adapter, keySize, ...(await otel.ask<{ report: object }>('telemetry')).report });
    await Promise.all([app.stop(), alt.stop(), otel.stop(), tenants?.stop(), one?.stop()]);

    if (keySize === memoryKeySize) {
      console.log(`${adapter} ${keySize}: ${distinct.length} distinct tokens once each, for the heap…`);
      report.heap.push(await memory(config, keySize, hot[0], distinct));
    }
  }
  await dev.stop();
}

printReport(report);
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/latest.json', JSON.stringify({ ...report, targets: targets(report) }, null, 2));
console.log('\nWritten: bench-results/latest.json');

/**
 * The benchmark's knobs (environment) and what run.ts tells each app process it forks.
 *
 * BENCH_QUICK=1 checks that everything works in about two minutes: 1 round of 1 s, small token pools
 * with a verified-token cache shrunk below them (so the "many" mix still misses), a small heap run.
 * Its figures are not for reading. Without it: the full run (about 18 minutes on 2 cores).
 *
 * Other knobs: BENCH_DURATION seconds per route and round (3), BENCH_ROUNDS (5), BENCH_CONNECTIONS (10),
 * BENCH_TOKENS distinct tokens per "many" pool (12000: more than the verified-token cache's 10,000
 * entries, so every request misses it), BENCH_MEMORY_TOKENS (100000), BENCH_ADAPTERS ("express,fastify"),
 * BENCH_KEY_SIZES ("2048,4096"), BENCH_TENANTS (10), BENCH_PROBE_RATE requests/s of the probe (100).
 */
export const quick = process.env.BENCH_QUICK === '1';

const number = (name: string, full: number, short: number) => Number(process.env[name] ?? (quick ? short : full));
const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').filter((item) => item !== '');

export const settings = {
  duration: number('BENCH_DURATION', 3, 1),
  warmup: quick ? 0.5 : 1,
  rounds: number('BENCH_ROUNDS', 5, 1),
  connections: number('BENCH_CONNECTIONS', 10, 10),
  tokens: number('BENCH_TOKENS', 12_000, 600),
  memoryTokens: number('BENCH_MEMORY_TOKENS', 100_000, 3_000),
  adapters: list('BENCH_ADAPTERS', 'express,fastify'),
  keySizes: list('BENCH_KEY_SIZES', '2048,4096').map(Number) as (2048 | 4096)[],
  tenants: number('BENCH_TENANTS', 10, 10),
  probeRate: number('BENCH_PROBE_RATE', 100, 100),
  coldBurst: 200,
  /** In quick mode the pools are small: a smaller cache keeps the "many" mix all misses. */
  tokenCacheEntries: quick ? 200 : undefined,
};

/** A tenant of the multi-tenant app. */
export interface BenchTenant {
  name: string;
  baseURL: string;
  clientId: string;
  clientSecret: string;
}

/** What an app process is told (as JSON in BENCH_APP). */
export interface BenchAppConfig {
  adapter: string;
  baseURL: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The public signing JWK, for limit-guard's bare verify. */
  publicJwk: Record<string, unknown>;
  /** How the client checks RS256 signatures (its internal switch). */
  verifyMode: 'sync' | 'thread-pool';
  /** Registers the OpenTelemetry SDK (tracer and meter providers) before the app starts. */
  telemetry: boolean;
  tokenCacheEntries?: number;
  /** When given, the module is configured with these tenants (chosen by each token's `iss`). */
  tenants?: BenchTenant[];
}

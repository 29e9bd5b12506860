/** Forking the apps under load and driving their routes with autocannon, in interleaved rounds. */
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { settings, type BenchAppConfig } from './bench-config.js';

export interface App {
  url: string;
  child: ChildProcess;
  ask<T>(type: string): Promise<T>;
  stop(): Promise<void>;
}

/** One row to measure: a route of an app, driven with a token pool. */
export interface Spec {
  /** The row's name, e.g. `guard` or `guard [thread-pool]`. */
  label: string;
  app: App;
  route: string;
  tokens: string[];
  /** Also measure an unguarded route of the same app at a low fixed rate while this one is loaded. */
  probe?: boolean;
}

export interface RouteStats {
  requests: number;
  seconds: number;
  cpuMicros: number;
  /** Requests of the probe, which the app's CPU also served. */
  probeRequests: number;
  p50: number[];
  p99: number[];
  probeP99: number[];
  errors: number;
}

const appScript = fileURLToPath(new URL('./bench-app.js', import.meta.url));

export async function startApp(config: BenchAppConfig): Promise<App> {
  const child = fork(appScript, [], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, BENCH_APP: JSON.stringify(config) },
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

/** Drives one route for `seconds`; tokens are taken in turn from the pool. */
export async function drive(app: App, route: string, tokens: string[], seconds: number, rate?: number): Promise<autocannon.Result> {
  let next = cursors.get(tokens) ?? 0;
  const result = await autocannon({
    url: `${app.url}/${route}`,
    connections: rate === undefined ? settings.connections : 1,
    ...(rate === undefined ? {} : { overallRate: rate }),
    duration: seconds,
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

/** Sends every token once (for the heap run), `connections` at a time. */
export async function sendEach(app: App, route: string, tokens: string[]): Promise<void> {
  let next = 0;
  await autocannon({
    url: `${app.url}/${route}`,
    connections: settings.connections,
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
}

/**
 * Every spec driven `rounds` times, in an order rotated each round so that machine noise hits them
 * alike; CPU is the app's own, read before and after each drive.
 */
export async function measure(specs: Spec[]): Promise<Map<string, RouteStats>> {
  const stats = new Map<string, RouteStats>(
    specs.map((spec) => [spec.label, { requests: 0, seconds: 0, cpuMicros: 0, probeRequests: 0, p50: [], p99: [], probeP99: [], errors: 0 }]),
  );
  // Warm-up: JIT, discovery, keys, caches.
  for (const spec of specs) await drive(spec.app, spec.route, spec.tokens.slice(0, 1), settings.warmup);
  for (let round = 0; round < settings.rounds; round++) {
    const order = specs.map((_, i) => specs[(i + round) % specs.length]);
    for (const spec of order) {
      const before = await spec.app.ask<{ micros: number }>('cpu');
      const [result, probe] = await Promise.all([
        drive(spec.app, spec.route, spec.tokens, settings.duration),
        spec.probe ? drive(spec.app, 'unguarded', [''], settings.duration, settings.probeRate) : undefined,
      ]);
      const after = await spec.app.ask<{ micros: number }>('cpu');
      const entry = stats.get(spec.label)!;
      entry.requests += result.requests.total;
      entry.seconds += result.duration;
      entry.cpuMicros += after.micros - before.micros;
      entry.p50.push(result.latency.p50);
      entry.p99.push(result.latency.p99);
      entry.errors += result.non2xx + result.errors + result.timeouts;
      if (probe) {
        entry.probeRequests += probe.requests.total;
        entry.probeP99.push(probe.latency.p99);
        entry.errors += probe.non2xx + probe.errors + probe.timeouts;
      }
    }
  }
  return stats;
}

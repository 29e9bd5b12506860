/** The benchmark's rows, its Markdown table, issue 14's targets, and what the measurements choose. */
import type { RouteStats } from './bench-driver.js';

export interface Row {
  adapter: string;
  keySize: number;
  mix: string;
  route: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** p99 of the unguarded probe that ran beside this route's load (many mix only). */
  probeP99Ms?: number;
  cpuMicrosPerRequest: number;
  vsUnguarded: number;
  vsBaseline: number;
  errors: number;
}

export interface Cold {
  adapter: string;
  keySize: number;
  burst: number;
  ok: number;
  discoveryFetches: number;
  jwksFetches: number;
}

export interface Heap {
  adapter: string;
  keySize: number;
  tokens: number;
  heapBeforeMiB: number;
  heapAfterMiB: number;
  growthMiB: number;
}

export interface Target {
  target: string;
  value: number | string;
  ok: boolean;
}

export interface Report {
  date: string;
  machine: string;
  load: string;
  settings: Record<string, unknown>;
  rows: Row[];
  cold: Cold[];
  heap: Heap[];
  telemetry: Record<string, unknown>[];
  /** Why a target could not be measured in this run. */
  notes: string[];
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
export const round2 = (value: number) => Math.round(value * 100) / 100;

export function toRows(adapter: string, keySize: number, mix: string, stats: Map<string, RouteStats>): Row[] {
  const rate = (route: string) => stats.get(route)!.requests / stats.get(route)!.seconds;
  return [...stats].map(([route, s]) => ({
    adapter,
    keySize,
    mix,
    route,
    reqPerSec: Math.round(rate(route)),
    p50Ms: round2(mean(s.p50)),
    p99Ms: round2(mean(s.p99)),
    probeP99Ms: s.probeP99.length ? round2(mean(s.probeP99)) : undefined,
    cpuMicrosPerRequest: Math.round(s.cpuMicros / (s.requests + s.probeRequests)),
    vsUnguarded: round2(rate(route) / rate('unguarded')),
    vsBaseline: stats.has('baseline') ? round2(rate(route) / rate('baseline')) : NaN,
    errors: s.errors,
  }));
}

/** The README's Performance table. */
export function markdownTable(rows: Row[]): string {
  const header = ['adapter', 'key', 'mix', 'route', 'req/s', 'p50 ms', 'p99 ms', 'probe p99 ms', 'CPU µs/req', '× unguarded', '× baseline', 'errors'];
  const lines = rows.map((r) =>
    [r.adapter, r.keySize, r.mix, r.route, r.reqPerSec, r.p50Ms, r.p99Ms, r.probeP99Ms ?? '', r.cpuMicrosPerRequest, r.vsUnguarded, Number.isNaN(r.vsBaseline) ? '' : r.vsBaseline, r.errors].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

function finder(rows: Row[]) {
  return (adapter: string, keySize: number, mix: string, route: string) =>
    rows.find((r) => r.adapter === adapter && r.keySize === keySize && r.mix === mix && r.route === route);
}

/** Issue 14's targets (and the telemetry one of issue 13), for every adapter and key size measured. */
export function targets(report: Report): Target[] {
  const find = finder(report.rows);
  const out: Target[] = [];
  const ratio = (label: string, a: Row | undefined, b: Row | undefined, min: number) => {
    if (!a || !b) return;
    const value = round2(a.reqPerSec / b.reqPerSec);
    out.push({ target: `${label} ≥ ${min}×`, value, ok: value >= min });
  };
  const combos = unique(report.rows.map((r) => `${r.adapter}|${r.keySize}`)).map((c) => c.split('|'));
  for (const [adapter, size] of combos) {
    const keySize = Number(size);
    const at = `${adapter} ${keySize}`;
    const guard = find(adapter, keySize, 'many', 'guard');
    ratio(`${at}: many-token guard vs limit-guard`, guard, find(adapter, keySize, 'many', 'limit-guard'), 0.9);
    ratio(`${at}: many-token guard vs passport-jwt + jwks-rsa`, guard, find(adapter, keySize, 'many', 'baseline'), 1.5);
    const hot = find(adapter, keySize, 'hot', 'guard');
    ratio(`${at}: hot guard vs attach-guard`, hot, find(adapter, keySize, 'hot', 'attach-guard'), 0.97);
    ratio(`${at}: hot AuthGuard('fief') vs the guard`, find(adapter, keySize, 'hot', 'passport-fief'), hot, 0.9);
    ratio(`${at}: hot @CurrentUser() warm vs the guard`, find(adapter, keySize, 'hot', 'current-user'), hot, 0.95);
    // Against one tenant in a process started and driven like the tenants app's (see run.ts).
    for (const mix of ['hot', 'many'] as const) {
      const one = find(adapter, keySize, mix, 'guard [1 tenant]') ?? find(adapter, keySize, mix, 'guard');
      ratio(`${at}: ten tenants mixed, ${mix}, vs one tenant`, find(adapter, keySize, mix, 'guard [10 tenants]'), one, 0.95);
    }
    // With an SDK the whole app pays for its context manager (AsyncLocalStorage hooks on every promise):
    // our part is the guard's ratio to that app's own unguarded route, against the same ratio without an SDK.
    for (const [mix, min] of [['hot', 0.97], ['many', 0.95]] as const) {
      const withSdk = find(adapter, keySize, mix, 'guard [otel sdk]');
      const sdkBase = find(adapter, keySize, mix, 'unguarded [otel sdk]');
      const without = find(adapter, keySize, mix, 'guard');
      const base = find(adapter, keySize, mix, 'unguarded');
      if (!withSdk || !sdkBase || !without || !base) continue;
      const value = round2(withSdk.reqPerSec / sdkBase.reqPerSec / (without.reqPerSec / base.reqPerSec));
      out.push({ target: `${at}: ${mix} guard's cost with an OpenTelemetry SDK (× its unguarded) vs without ≥ ${min}×`, value, ok: value >= min });
    }
  }
  for (const c of report.cold) {
    out.push({
      target: `${c.adapter} ${c.keySize}: cold burst of ${c.burst}: 1 discovery + 1 JWKS fetch, all 200`,
      value: `${c.discoveryFetches} + ${c.jwksFetches}, ${c.ok} ok`,
      ok: c.discoveryFetches === 1 && c.jwksFetches === 1 && c.ok === c.burst,
    });
  }
  for (const h of report.heap) {
    out.push({
      target: `${h.adapter} ${h.keySize}: heap growth over ${h.tokens} distinct tokens ≤ the cache's 16 MiB bound (MiB)`,
      value: h.growthMiB,
      ok: h.growthMiB <= 16,
    });
  }
  return out;
}

/**
 * Synchronous or thread-pool verify, by measurement: the pool wins only if it frees the event loop
 * (the unguarded probe's p99 at least 20% lower under the many-token load) without costing more than
 * 5% of the guard's throughput; otherwise the cheaper synchronous verify stays.
 */
export function verifyModeChoice(rows: Row[], defaultMode: string): string[] {
  const find = finder(rows);
  const other = defaultMode === 'sync' ? 'thread-pool' : 'sync';
  const lines: string[] = [];
  let pool = 0;
  let sync = 0;
  for (const [adapter, size] of unique(rows.map((r) => `${r.adapter}|${r.keySize}`)).map((c) => c.split('|'))) {
    const keySize = Number(size);
    const [s, p] = (defaultMode === 'sync' ? ['guard', `guard [${other}]`] : [`guard [${other}]`, 'guard']).map((route) =>
      find(adapter, keySize, 'many', route),
    );
    if (!s || !p || s.probeP99Ms === undefined || p.probeP99Ms === undefined) continue;
    const poolWins = p.probeP99Ms <= 0.8 * s.probeP99Ms && p.reqPerSec >= 0.95 * s.reqPerSec;
    if (poolWins) pool++;
    else sync++;
    lines.push(
      `${adapter} ${keySize}: sync ${s.reqPerSec} req/s, probe p99 ${s.probeP99Ms} ms | thread-pool ${p.reqPerSec} req/s, ` +
        `probe p99 ${p.probeP99Ms} ms → ${poolWins ? 'thread-pool' : 'sync'}`,
    );
  }
  if (lines.length) lines.push(`Choice: ${pool > sync ? 'thread-pool' : 'sync'} (${sync} for sync, ${pool} for the thread pool)`);
  return lines;
}

/** Where a miss spends its CPU: the whole guard over an unguarded request, and the bare verify within it. */
export function missCost(rows: Row[]): string[] {
  const find = finder(rows);
  const lines: string[] = [];
  for (const [adapter, size] of unique(rows.map((r) => `${r.adapter}|${r.keySize}`)).map((c) => c.split('|'))) {
    const keySize = Number(size);
    const base = find(adapter, keySize, 'many', 'unguarded');
    const guard = find(adapter, keySize, 'many', 'guard');
    const limit = find(adapter, keySize, 'many', 'limit-guard');
    if (!base || !guard || !limit) continue;
    const miss = guard.cpuMicrosPerRequest - base.cpuMicrosPerRequest;
    const bare = limit.cpuMicrosPerRequest - base.cpuMicrosPerRequest;
    lines.push(`${adapter} ${keySize}: a miss costs ${miss} µs of CPU over an unguarded request; the bare verify (limit-guard) ${bare} µs; the rest ${miss - bare} µs`);
  }
  return lines;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** The whole printout: machine, table, cold bursts, heap, choice, miss cost, targets. */
export function printReport(report: Report): void {
  const s = report.settings;
  console.log(`\n${report.machine}; load before the run: ${report.load}`);
  console.log(`${s.connections} connections, ${s.rounds} rounds × ${s.duration}s per route${s.quick ? ' (BENCH_QUICK: figures not for reading)' : ''}\n`);
  console.log(markdownTable(report.rows));
  console.log('\nCold start:', report.cold);
  console.log('Heap around the distinct-token run:', report.heap);
  if (report.telemetry.length) console.log('Recorded by the OpenTelemetry SDK of the "[otel sdk]" apps:', report.telemetry);
  console.log('\nSynchronous or thread-pool verify (probe: unguarded route at a fixed low rate beside the many-token load):');
  for (const line of verifyModeChoice(report.rows, String(report.settings.verifyMode))) console.log(`  ${line}`);
  console.log('\nWhat registering the OpenTelemetry SDK costs the whole app (its unguarded route vs the plain app\'s):');
  for (const r of report.rows.filter((row) => row.route === 'unguarded [otel sdk]')) {
    const plain = report.rows.find((row) => row.adapter === r.adapter && row.keySize === r.keySize && row.mix === r.mix && row.route === 'unguarded');
    if (plain) console.log(`  ${r.adapter} ${r.keySize} ${r.mix}: ${round2(r.reqPerSec / plain.reqPerSec)}×`);
  }
  console.log('\nWhere a miss spends its time:');
  for (const line of missCost(report.rows)) console.log(`  ${line}`);
  console.log('\nTargets:');
  for (const t of targets(report)) console.log(`  ${t.ok ? 'met ' : 'MISS'}  ${t.target}: ${t.value}`);
  for (const note of report.notes) console.log(`  n/a   ${note}`);
}

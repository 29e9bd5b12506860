import { createRequire } from 'node:module';

/*
 * The few parts of `@opentelemetry/api` this package uses, typed here so that no declaration file of
 * ours names the optional peer: an app without it compiles and runs, and telemetry is then a no-op.
 */

/** Attribute values as OpenTelemetry takes them. */
export type OtelAttributes = Record<string, string | number | boolean | undefined>;

export interface OtelSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: unknown): unknown;
  end(): void;
}

export interface OtelTracer {
  startActiveSpan<T>(name: string, options: { kind?: number; attributes?: OtelAttributes }, fn: (span: OtelSpan) => T): T;
}

export interface OtelCounter {
  add(value: number, attributes?: OtelAttributes): void;
}

export interface OtelHistogram {
  record(value: number, attributes?: OtelAttributes): void;
}

export interface OtelObservableResult {
  observe(value: number, attributes?: OtelAttributes): void;
}

export interface OtelObservableCounter {
  addCallback(callback: (result: OtelObservableResult) => void): void;
  removeCallback(callback: (result: OtelObservableResult) => void): void;
}

interface InstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

export interface OtelMeter {
  createCounter(name: string, options?: InstrumentOptions): OtelCounter;
  createHistogram(name: string, options?: InstrumentOptions): OtelHistogram;
  createObservableCounter(name: string, options?: InstrumentOptions): OtelObservableCounter;
}

export interface OtelMeterProvider {
  getMeter(name: string, version?: string): OtelMeter;
}

export interface OtelApi {
  trace: { getTracer(name: string, version?: string): OtelTracer };
  metrics: { getMeterProvider(): OtelMeterProvider };
  SpanKind: { CLIENT: number };
  SpanStatusCode: { ERROR: number };
}

let loaded: OtelApi | null | undefined;

/**
 * `@opentelemetry/api` when the app has it, else `undefined`. Loaded once, synchronously, at the first
 * telemetry event (never at import: no top-level await, and nothing happens for apps that never call
 * Fief). Any copy of the API will do: it keeps the registered SDK on a global, so this `require` sees
 * the providers the app registered through its own `import`.
 */
export function openTelemetryApi(): OtelApi | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

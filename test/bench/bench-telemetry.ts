/**
 * The OpenTelemetry SDK as an app registers it, for the "telemetry registered" rows: a meter provider
 * whose reader collects every 5 s into the SDK's in-memory exporter, and a tracer provider with a
 * batch span processor. Asked, it reports what it recorded, so a run shows the rows really paid for it.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';

export interface BenchTelemetry {
  /** Spans ended and the verifications and cache lookups counted so far. */
  report(): Promise<{ spans: number; verifications: number; lookups: number }>;
}

export function registerBenchTelemetry(): BenchTelemetry {
  const spans = new InMemorySpanExporter();
  const spanProcessor = new BatchSpanProcessor(spans);
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 5000 });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [spanProcessor] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  return {
    async report() {
      await spanProcessor.forceFlush();
      metricExporter.reset();
      await reader.forceFlush();
      const sum = (name: string) => {
        let total = 0;
        for (const resource of metricExporter.getMetrics()) {
          for (const scope of resource.scopeMetrics) {
            for (const metric of scope.metrics) {
              if (metric.descriptor.name !== name) continue;
              for (const point of metric.dataPoints) total += typeof point.value === 'number' ? point.value : 0;
            }
          }
        }
        return total;
      };
      return { spans: spans.getFinishedSpans().length, verifications: sum('fief.token.verifications'), lookups: sum('fief.cache.lookups') };
    },
  };
}

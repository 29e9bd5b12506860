/**
 * The OpenTelemetry SDK as an app would register it, with the SDK's in-memory exporters: spans are
 * kept as they end, metrics are exported on demand (cumulative) and read back as numbers.
 */
import { context, metrics, trace, type Attributes, type MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** One data point: a counter's sum, or a histogram's count and sum. */
export interface Point {
  name: string;
  unit: string;
  attributes: Attributes;
  value: number;
  sum?: number;
}

export class OtelHarness {
  readonly spanExporter = new InMemorySpanExporter();
  readonly metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  readonly reader = new PeriodicExportingMetricReader({
    exporter: this.metricExporter,
    // Exported only when a test asks (forceFlush).
    exportIntervalMillis: 3_600_000,
    exportTimeoutMillis: 30_000,
  });
  readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.spanExporter)] });
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });

  /**
   * Registers both providers globally. `meterProvider` may be given wrapped (to watch calls into it).
   */
  install(meterProvider: ApiMeterProvider = this.meterProvider): void {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(this.tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
  }

  async uninstall(): Promise<void> {
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
    metrics.disable();
    trace.disable();
    context.disable();
  }

  /** Ended spans named `name` (or all), oldest first. */
  spans(name?: string): ReadableSpan[] {
    const all = this.spanExporter.getFinishedSpans();
    return name === undefined ? all : all.filter((span) => span.name === name);
  }

  /** Every data point of nestjs-fief's meter, collected now. */
  async points(): Promise<Point[]> {
    this.metricExporter.reset();
    await this.reader.forceFlush();
    const exported = this.metricExporter.getMetrics();
    const latest = exported[exported.length - 1];
    const points: Point[] = [];
    for (const scope of latest?.scopeMetrics ?? []) {
      if (scope.scope.name !== 'nestjs-fief') continue;
      for (const metric of scope.metrics) points.push(...pointsOf(metric));
    }
    return points;
  }

  /** The sum (counter) or count (histogram) of `name` over the points carrying every given attribute. */
  async value(name: string, attributes: Attributes = {}): Promise<number> {
    return total(await this.points(), name, attributes);
  }
}

/** {@link OtelHarness.value} over points already collected. */
export function total(points: Point[], name: string, attributes: Attributes = {}): number {
  return matching(points, name, attributes).reduce((sum, point) => sum + point.value, 0);
}

export function matching(points: Point[], name: string, attributes: Attributes = {}): Point[] {
  return points.filter(
    (point) => point.name === name && Object.entries(attributes).every(([key, value]) => point.attributes[key] === value),
  );
}

function pointsOf(metric: MetricData): Point[] {
  const { name, unit } = metric.descriptor;
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    return metric.dataPoints.map((p) => ({ name, unit, attributes: p.attributes, value: p.value.count, sum: p.value.sum }));
  }
  if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
    return metric.dataPoints.map((p) => ({ name, unit, attributes: p.attributes, value: p.value as number }));
  }
  return [];
}

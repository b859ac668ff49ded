import type { Attributes, BatchObservableCallback, Histogram, Meter, Observable } from '@opentelemetry/api';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import {
  BROKER_LAG,
  CLOSES,
  FANOUT_DURATION,
  HANDLER_DURATION,
  NODE_METRICS,
  PATH_METRICS,
  RECOVERY_ATTEMPTS,
  RECOVERY_REPLAYED,
  RECOVERY_SUCCESSES,
  type MetricDefinition,
  type NodeMetric,
  type PathMetric,
} from './catalogue.js';
import { LabelSets } from './label-sets.js';
import { MetricsBase, type MetricsLabelOptions, type Outcome } from './metrics-base.js';
import type { MetricsSource } from './metrics-exporter.js';
import { loadOpenTelemetryApi } from './optional-peers.js';

/** Options of {@link OpenTelemetryMetrics}. */
export interface OpenTelemetryMetricsOptions extends MetricsLabelOptions {
  /**
   * The meter to create the instruments on. @default
   * `metrics.getMeter('nestjs-switchboard')` of `@opentelemetry/api` (the
   * global MeterProvider your SDK setup registers; without one, a no-op)
   */
  readonly meter?: Meter;
  /** Prefix of every instrument name. @default 'switchboard.' */
  readonly prefix?: string;
}

/**
 * OpenTelemetry instruments for the gateways of one application, on
 * `@opentelemetry/api` (an optional peer, needed only without `meter`).
 * Export them with your SDK's readers (OTLP, Prometheus exporter...).
 *
 * ```ts
 * SwitchboardModule.forRoot({ metrics: new OpenTelemetryMetrics({ meter: provider.getMeter('chat') }) })
 * ```
 *
 * Counters and levels are observable instruments, read from the gateway
 * and hub counters in one batch callback per collection. The three
 * histograms are synchronous: each handler and each fan-out records once
 * (the SDK hashes the attributes on every record, about 2 µs; the attribute
 * objects themselves are made once per label set).
 */
export class OpenTelemetryMetrics extends MetricsBase {
  private readonly givenMeter: Meter | undefined;
  private readonly prefix: string;
  private handlerHistogram: Histogram | undefined;
  private fanOutHistogram: Histogram | undefined;
  private lagHistogram: Histogram | undefined;
  private readonly handlerAttributes = new LabelSets<Attributes>((path, event, outcome) => Object.freeze({ path, event, outcome }));
  private readonly fanOutAttributes = new LabelSets<Attributes>((path, room) => Object.freeze(room === '' ? { path } : { path, room }));
  private batch: { meter: Meter; callback: BatchObservableCallback; observables: Observable[] } | undefined;

  constructor(options: OpenTelemetryMetricsOptions = {}) {
    super(options);
    this.givenMeter = options.meter;
    this.prefix = options.prefix ?? 'switchboard.';
    if (typeof this.prefix !== 'string' || !/^([A-Za-z][A-Za-z0-9_.\-/]*)?$/.test(this.prefix)) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `OpenTelemetryMetrics prefix must start an instrument name (a letter, then letters, digits, _ . - /); got ${JSON.stringify(this.prefix)}.`);
    }
  }

  protected observeHandler(path: string, event: string, outcome: Outcome, seconds: number): void {
    this.handlerHistogram?.record(seconds, this.handlerAttributes.get(path, event, outcome));
  }

  protected observeFanOut(path: string, room: string, seconds: number): void {
    this.fanOutHistogram?.record(seconds, this.fanOutAttributes.get(path, room));
  }

  protected observeBrokerLag(seconds: number): void {
    this.lagHistogram?.record(seconds);
  }

  protected async open(source: MetricsSource): Promise<void> {
    const meter = this.givenMeter ?? (await loadOpenTelemetryApi()).metrics.getMeter('nestjs-switchboard');
    const histogram = (definition: MetricDefinition, bounds: readonly number[]): Histogram =>
      meter.createHistogram(this.prefix + definition.otel, { description: definition.help, unit: definition.unit, advice: { explicitBucketBoundaries: [...bounds] } });
    this.handlerHistogram = histogram(HANDLER_DURATION, this.buckets.handler);
    this.fanOutHistogram = histogram(FANOUT_DURATION, this.buckets.fanOut);
    this.lagHistogram = histogram(BROKER_LAG, this.buckets.brokerLag);

    const observable = (definition: PathMetric | NodeMetric): Observable => {
      const options = { description: definition.help, unit: definition.unit };
      const name = this.prefix + definition.otel;
      if (definition.kind === 'counter') {
        return meter.createObservableCounter(name, options);
      }
      return 'notAdditive' in definition && definition.notAdditive === true ? meter.createObservableGauge(name, options) : meter.createObservableUpDownCounter(name, options);
    };
    const counter = (definition: MetricDefinition): Observable => meter.createObservableCounter(this.prefix + definition.otel, { description: definition.help, unit: definition.unit });
    const pathInstruments = PATH_METRICS.map((definition) => [definition, observable(definition)] as const);
    const nodeInstruments = NODE_METRICS.map((definition) => [definition, observable(definition)] as const);
    const closes = counter(CLOSES);
    const recoveries = [
      [counter(RECOVERY_ATTEMPTS), 'attempts'],
      [counter(RECOVERY_SUCCESSES), 'successes'],
      [counter(RECOVERY_REPLAYED), 'replayed'],
    ] as const;

    const callback: BatchObservableCallback = (observer) => {
      const reading = this.readings.read(source);
      for (const [path, totals] of reading.paths) {
        const attributes = { path };
        for (const [definition, instrument] of pathInstruments) {
          observer.observe(instrument, definition.read(totals), attributes);
        }
      }
      for (const [definition, instrument] of nodeInstruments) {
        observer.observe(instrument, definition.read(reading.cluster, reading.nodes));
      }
      for (const tally of this.closes.values()) {
        observer.observe(closes, tally.count, { path: tally.path, code: tally.code });
      }
      for (const tally of this.recoveries.values()) {
        for (const [instrument, field] of recoveries) {
          observer.observe(instrument, tally[field], { path: tally.path });
        }
      }
    };
    const observables = [...pathInstruments.map(([, instrument]) => instrument), ...nodeInstruments.map(([, instrument]) => instrument), closes, ...recoveries.map(([instrument]) => instrument)];
    meter.addBatchObservableCallback(callback, observables);
    this.batch = { meter, callback, observables };
  }

  protected async close(): Promise<void> {
    // Synchronous instruments cannot be removed from a meter; they stay, unrecorded.
    if (this.batch !== undefined) {
      this.batch.meter.removeBatchObservableCallback(this.batch.callback, this.batch.observables);
      this.batch = undefined;
    }
    this.handlerHistogram = undefined;
    this.fanOutHistogram = undefined;
    this.lagHistogram = undefined;
  }
}

import { Logger } from '@nestjs/common';
import type { Histogram, Metric, MetricObjectWithValues, MetricType, MetricValueWithName, Registry } from 'prom-client';
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
} from './catalogue.js';
import { HistogramCell, LabelSets } from './label-sets.js';
import { MetricsBase, type MetricsLabelOptions, type Outcome } from './metrics-base.js';
import type { MetricsHttpServer, MetricsSource } from './metrics-exporter.js';
import { loadPromClient, type PromClient } from './optional-peers.js';
import type { Reading } from './readings.js';

const logger = new Logger('PrometheusMetrics');

/** Options of {@link PrometheusMetrics}. */
export interface PrometheusMetricsOptions extends MetricsLabelOptions {
  /**
   * The route of the scrape endpoint on the application's own HTTP server
   * (Nest's HTTP adapter; no extra port), absolute: the global prefix does
   * not apply, and neither do guards or interceptors (it is a plain route,
   * not a controller). `false`: no route; serve {@link PrometheusMetrics.scrape} yourself.
   * @default '/metrics'
   */
  readonly path?: string | false;
  /** Prefix of every metric name. @default 'switchboard_' */
  readonly prefix?: string;
  /** The prom-client registry to register in (and to serve, whole, at `path`). @default prom-client's global `register` */
  readonly registry?: Registry;
}

/**
 * Prometheus metrics for the gateways of one application, on prom-client
 * (an optional peer: `npm install prom-client`), served at `/metrics` on the
 * app's own HTTP server.
 *
 * ```ts
 * SwitchboardModule.forRoot({ metrics: new PrometheusMetrics({ rooms: { allow: ['lobby'] } }) })
 * ```
 *
 * Counters and gauges are read from the gateway and hub counters when
 * scraped. The three histograms (handler duration, fan-out duration,
 * broker lag) are the hot path's only cost: a label-set lookup and a few
 * increments in the exporter's own cells, rendered through prom-client at
 * scrape time.
 */
export class PrometheusMetrics extends MetricsBase {
  private readonly path: string | false;
  private readonly prefix: string;
  private readonly givenRegistry: Registry | undefined;
  private registry: Registry | undefined;
  private registered: Metric[] = [];
  private readonly handlerCells: LabelSets<HistogramCell>;
  private readonly fanOutCells: LabelSets<HistogramCell>;
  private readonly lagCell: HistogramCell;
  private readonly mounted = new WeakSet<object>();

  constructor(options: PrometheusMetricsOptions = {}) {
    super(options);
    this.path = options.path ?? '/metrics';
    this.prefix = options.prefix ?? 'switchboard_';
    this.givenRegistry = options.registry;
    if (this.path !== false && (typeof this.path !== 'string' || !this.path.startsWith('/'))) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `PrometheusMetrics path must start with "/" (or be false); got ${JSON.stringify(this.path)}.`);
    }
    if (typeof this.prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(this.prefix)) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `PrometheusMetrics prefix must be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*); got ${JSON.stringify(this.prefix)}.`);
    }
    const handler = this.buckets.handler;
    const fanOut = this.buckets.fanOut;
    this.handlerCells = new LabelSets((path, event, outcome) => new HistogramCell({ path, event, outcome }, handler));
    this.fanOutCells = new LabelSets((path, room) => new HistogramCell(this.labels.labelsRooms ? { path, room } : { path }, fanOut));
    this.lagCell = new HistogramCell({}, this.buckets.brokerLag);
  }

  /**
   * The whole registry in the exposition format, for serving it yourself
   * (`path: false`, or an app without an HTTP adapter).
   */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const registry = this.registry;
    if (registry === undefined) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, 'PrometheusMetrics is not started: it starts with the application (SwitchboardModule.forRoot({ metrics })).');
    }
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  protected observeHandler(path: string, event: string, outcome: Outcome, seconds: number): void {
    this.handlerCells.get(path, event, outcome).observe(seconds);
  }

  protected observeFanOut(path: string, room: string, seconds: number): void {
    this.fanOutCells.get(path, room).observe(seconds);
  }

  protected observeBrokerLag(seconds: number): void {
    this.lagCell.observe(seconds);
  }

  protected async open(source: MetricsSource, http: MetricsHttpServer | undefined): Promise<void> {
    const prom = await loadPromClient();
    const registry = this.givenRegistry ?? prom.register;
    const read = (): Reading => this.readings.read(source);
    const metrics: Metric[] = [
      ...PATH_METRICS.map((definition) =>
        definition.kind === 'counter'
          ? this.counter(prom, definition, ['path'], (inc) => {
              for (const [path, totals] of read().paths) {
                inc({ path }, definition.read(totals));
              }
            })
          : this.gauge(prom, definition, ['path'], (set) => {
              for (const [path, totals] of read().paths) {
                set({ path }, definition.read(totals));
              }
            }),
      ),
      ...NODE_METRICS.map((definition) => {
        const value = (): number => {
          const { cluster, nodes } = read();
          return definition.read(cluster, nodes);
        };
        return definition.kind === 'counter' ? this.counter(prom, definition, [], (inc) => inc({}, value())) : this.gauge(prom, definition, [], (set) => set({}, value()));
      }),
      this.counter(prom, CLOSES, ['path', 'code'], (inc) => {
        for (const tally of this.closes.values()) {
          inc({ path: tally.path, code: tally.code }, tally.count);
        }
      }),
      ...(
        [
          [RECOVERY_ATTEMPTS, 'attempts'],
          [RECOVERY_SUCCESSES, 'successes'],
          [RECOVERY_REPLAYED, 'replayed'],
        ] as const
      ).map(([definition, field]) =>
        this.counter(prom, definition, ['path'], (inc) => {
          for (const tally of this.recoveries.values()) {
            inc({ path: tally.path }, tally[field]);
          }
        }),
      ),
      cellHistogram(prom, this.prefix + HANDLER_DURATION.name, HANDLER_DURATION.help, ['path', 'event', 'outcome'], this.buckets.handler, this.handlerCells),
      cellHistogram(prom, this.prefix + FANOUT_DURATION.name, FANOUT_DURATION.help, this.labels.labelsRooms ? ['path', 'room'] : ['path'], this.buckets.fanOut, this.fanOutCells),
      cellHistogram(prom, this.prefix + BROKER_LAG.name, BROKER_LAG.help, [], this.buckets.brokerLag, { values: () => [this.lagCell] }),
    ];
    for (const metric of metrics) {
      const name = (metric as { name?: string }).name!;
      if (registry.getSingleMetric(name) !== undefined) {
        this.unregister(registry);
        throw new SwitchboardError(
          ErrorCode.INVALID_OPTION,
          `The prom-client registry already has a metric named ${name}: another PrometheusMetrics (another app in this process?) uses it. Give each app its own registry or prefix.`,
        );
      }
      registry.registerMetric(metric);
      this.registered.push(metric);
    }
    this.registry = registry;
    this.mount(http, registry);
  }

  protected async close(): Promise<void> {
    if (this.registry !== undefined) {
      this.unregister(this.registry);
      this.registry = undefined;
    }
  }

  private unregister(registry: Registry): void {
    for (const metric of this.registered) {
      const name = (metric as { name?: string }).name!;
      if (registry.getSingleMetric(name) === metric) {
        registry.removeSingleMetric(name);
      }
    }
    this.registered = [];
  }

  /** The scrape route, on the app's HTTP server. Without one (an application context, a gateway-only setup), say how to serve it instead. */
  private mount(http: MetricsHttpServer | undefined, registry: Registry): void {
    if (this.path === false) {
      return;
    }
    if (http === undefined) {
      logger.warn(`No HTTP server in this application: ${this.path} is not served. Serve metrics.scrape() yourself, or set path: false to silence this.`);
      return;
    }
    if (this.mounted.has(http)) {
      return; // A restart of the same app: routes cannot be removed, the first one serves the current registry.
    }
    this.mounted.add(http);
    http.get(this.path, (_request, response) => {
      void this.respond(http, response);
    });
    logger.log(`Prometheus metrics at ${this.path} (registry ${registry === this.givenRegistry ? 'given' : 'prom-client default'})`);
  }

  private async respond(http: MetricsHttpServer, response: unknown): Promise<void> {
    const registry = this.registry;
    try {
      if (registry === undefined) {
        http.reply(response, 'metrics are stopped', 503);
        return;
      }
      const body = await registry.metrics();
      http.setHeader(response, 'Content-Type', registry.contentType);
      http.reply(response, body, 200);
    } catch (error) {
      // A collector that throws (ours or the app's own, in a shared registry) must not take the route down silently.
      logger.error(`Collecting the metrics failed: ${(error as Error).message}`, (error as Error).stack);
      try {
        http.reply(response, 'metrics collection failed', 500);
      } catch {
        // The response was already sent.
      }
    }
  }

  private counter(prom: PromClient, definition: MetricDefinition, labelNames: string[], fill: (inc: (labels: Record<string, string>, value: number) => void) => void): Metric {
    // Values are read at collect time: reset, then each series set to its current total (inc from 0).
    // The name keeps its _total (prom-client adds none in the Prometheus format, and strips and re-adds it in OpenMetrics).
    const counter: InstanceType<PromClient['Counter']> = new prom.Counter({
      name: this.prefix + definition.name,
      help: definition.help,
      labelNames,
      registers: [],
      collect: () => {
        counter.reset();
        fill((labels, value) => counter.inc(labels, value));
      },
    });
    return counter;
  }

  private gauge(prom: PromClient, definition: MetricDefinition, labelNames: string[], fill: (set: (labels: Record<string, string>, value: number) => void) => void): Metric {
    const gauge: InstanceType<PromClient['Gauge']> = new prom.Gauge({
      name: this.prefix + definition.name,
      help: definition.help,
      labelNames,
      registers: [],
      collect: () => {
        gauge.reset(); // A path no longer served disappears.
        fill((labels, value) => gauge.set(labels, value));
      },
    });
    return gauge;
  }
}

/**
 * A prom-client Histogram whose values are the exporter's cells: it sits in
 * the registry as any histogram does (listed, served, merged), but its
 * `observe` is not the path the hooks take.
 */
function cellHistogram(
  prom: PromClient,
  name: string,
  help: string,
  labelNames: string[],
  bounds: readonly number[],
  cells: { values(): readonly HistogramCell[]; clear?(): void },
): Histogram {
  const render = (): MetricObjectWithValues<MetricValueWithName<string>> => {
    const values: Array<MetricValueWithName<string>> = [];
    const bucket = `${name}_bucket`;
    for (const cell of cells.values()) {
      let cumulative = 0;
      for (let index = 0; index < bounds.length; index++) {
        cumulative += cell.counts[index];
        values.push({ labels: { ...cell.labels, le: bounds[index] }, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { ...cell.labels, le: '+Inf' }, value: cell.count, metricName: bucket });
      values.push({ labels: cell.labels, value: cell.sum, metricName: `${name}_sum` });
      values.push({ labels: cell.labels, value: cell.count, metricName: `${name}_count` });
    }
    // prom-client's typings declare MetricType a numeric enum (at run time it is the string) and ask for a collect function.
    return { name, help, type: 'histogram' as unknown as MetricType, values, aggregator: 'sum', collect: () => undefined };
  };
  class CellHistogram extends prom.Histogram {
    override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
      return render();
    }

    /** What the registry reads when it renders the text format. */
    async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
      return render();
    }

    /** `registry.resetMetrics()`. The base constructor calls it too, which must not empty the cells of a restarted exporter. */
    override reset(): void {
      if (constructed) {
        cells.clear?.();
      }
    }
  }
  let constructed = false;
  const histogram = new CellHistogram({ name, help, labelNames, buckets: [...bounds], registers: [] });
  constructed = true;
  return histogram;
}

import type { ClusterStats } from '../hub/switchboard-hub.js';
import type { MetricsRecorder } from '../interfaces/metrics.interface.js';
import type { GatewayStatsSnapshot } from '../stats/gateway-stats.js';

/**
 * What an exporter reads its counters and gauges from when it is scraped or
 * collected: the hub (`SwitchboardHub` satisfies it). Reading at collect
 * time is what keeps counters off the hot path.
 */
export interface MetricsSource {
  /** Gateway paths served in this process. */
  paths(): string[];
  /** The gateway servers at a path (several when one path is served on several ports). */
  serversAt(path: string): readonly { getStats(): GatewayStatsSnapshot }[];
  /** This node's cross-node counters and its broker's. */
  stats(): ClusterStats;
  /** The nodes alive now (this one included). */
  nodes(): readonly unknown[];
}

/**
 * The part of the application's HTTP server an exporter that serves an
 * endpoint needs. Nest's `HttpAdapterHost.httpAdapter` (Express or Fastify)
 * satisfies it; the route goes on the app's own server, so no extra port.
 */
export interface MetricsHttpServer {
  get(path: string, handler: (request: unknown, response: unknown) => unknown): unknown;
  setHeader(response: unknown, name: string, value: string): unknown;
  reply(response: unknown, body: unknown, statusCode?: number): unknown;
}

/**
 * A metrics exporter: the hot-path hooks of {@link MetricsRecorder}, and a
 * lifecycle. `SwitchboardModule` hands it to the hub at construction and
 * starts it on module init, which is when the optional package (prom-client,
 * @opentelemetry/api) is loaded; hooks called before that are no-ops.
 * One exporter serves one application.
 */
export interface MetricsExporter extends MetricsRecorder {
  /** Loads the optional package, registers the instruments, mounts the endpoint if any. */
  start(source: MetricsSource, http?: MetricsHttpServer): Promise<void>;
  /** Unregisters the instruments (so the same registry or meter can serve a later app); hooks become no-ops. */
  stop(): Promise<void>;
}

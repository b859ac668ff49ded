import type { ClusterStats } from '../hub/switchboard-hub.js';
import { GatewayStats, type GatewayStatsSnapshot } from '../stats/gateway-stats.js';
import type { MetricsSource } from './metrics-exporter.js';

/** The counters of one gateway server, summed over a path. */
type CounterName = keyof GatewayStats;

/** What a path's gateways add up to: every counter, and the two gauges. */
export type PathTotals = Record<CounterName, number> & { connections: number; rooms: number };

/** One collection: per path totals, and the node's figures. */
export interface Reading {
  readonly paths: ReadonlyMap<string, PathTotals>;
  readonly cluster: ClusterStats;
  readonly nodes: number;
}

/** The counter fields of a snapshot, taken from the class itself so that a counter added there is exported too. */
const COUNTERS = Object.keys(new GatewayStats()) as CounterName[];

/**
 * Reads the gateway and hub counters when an exporter is collected, so that
 * counters cost the hot path nothing. Counters stay monotonic when a gateway
 * server goes away (its last figures are kept for its path), as Prometheus
 * `rate()` and OpenTelemetry cumulative sums expect; what a server counted
 * between the last collection and its end is lost.
 *
 * A collection asks for many metrics at once (prom-client calls each
 * metric's `collect()` in one synchronous pass), so one reading serves all
 * of them until the current task ends.
 */
export class GatewayReadings {
  private readonly retired = new Map<string, Record<CounterName, number>>();
  private readonly lastSeen = new Map<object, { path: string; snapshot: GatewayStatsSnapshot }>();
  private memo: Reading | undefined;

  read(source: MetricsSource): Reading {
    if (this.memo !== undefined) {
      return this.memo;
    }
    const paths = new Map<string, PathTotals>();
    const seen = new Set<object>();
    for (const path of source.paths()) {
      const totals = this.totalsOf(paths, path);
      for (const server of source.serversAt(path)) {
        const snapshot = server.getStats();
        seen.add(server);
        this.lastSeen.set(server, { path, snapshot });
        for (const counter of COUNTERS) {
          totals[counter] += snapshot[counter];
        }
        totals.connections += snapshot.connections;
        totals.rooms += snapshot.rooms;
      }
    }
    for (const [server, { path, snapshot }] of this.lastSeen) {
      if (!seen.has(server)) {
        this.lastSeen.delete(server);
        const retired = this.retired.get(path) ?? zeroCounters();
        for (const counter of COUNTERS) {
          retired[counter] += snapshot[counter];
        }
        this.retired.set(path, retired);
      }
    }
    for (const [path, retired] of this.retired) {
      const totals = this.totalsOf(paths, path);
      for (const counter of COUNTERS) {
        totals[counter] += retired[counter];
      }
    }
    const reading: Reading = { paths, cluster: source.stats(), nodes: source.nodes().length };
    this.memo = reading;
    queueMicrotask(() => {
      this.memo = undefined;
    });
    return reading;
  }

  private totalsOf(paths: Map<string, PathTotals>, path: string): PathTotals {
    let totals = paths.get(path);
    if (totals === undefined) {
      totals = { ...zeroCounters(), connections: 0, rooms: 0 };
      paths.set(path, totals);
    }
    return totals;
  }
}

function zeroCounters(): Record<CounterName, number> {
  const zero = {} as Record<CounterName, number>;
  for (const counter of COUNTERS) {
    zero[counter] = 0;
  }
  return zero;
}

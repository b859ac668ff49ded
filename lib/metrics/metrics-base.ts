import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import { DEFAULT_BUCKETS } from './catalogue.js';
import { LabelRules, type RoomLabelRule } from './labels.js';
import { LabelSets } from './label-sets.js';
import type { MetricsExporter, MetricsHttpServer, MetricsSource } from './metrics-exporter.js';
import { GatewayReadings } from './readings.js';

/** Bucket upper bounds (seconds, ascending) of the three histograms. */
export interface HistogramBuckets {
  /** `handler_duration_seconds`. @default 0.5 ms … 10 s */
  readonly handler?: readonly number[];
  /** `broadcast_fanout_duration_seconds`. @default 50 µs … 250 ms */
  readonly fanOut?: readonly number[];
  /** `broker_lag_seconds`. @default 0.5 ms … 5 s */
  readonly brokerLag?: readonly number[];
}

/** Options both exporters share: which labels the hooks may produce, and the buckets. */
export interface MetricsLabelOptions {
  /** Rooms that may become a `room` label of the fan-out histogram (see {@link RoomLabelRule}). @default no room label */
  readonly rooms?: RoomLabelRule;
  /** Application close codes (3000-4999) labelled as themselves; others of that range are labelled `3xxx` or `4xxx`. @default [] */
  readonly closeCodes?: readonly number[];
  readonly buckets?: HistogramBuckets;
}

export type Outcome = 'ok' | 'error';

/** A counter of closes for one path and code label. */
export interface CloseTally {
  readonly path: string;
  readonly code: string;
  count: number;
}

/** Recoveries of one path: rooms tried, rooms restored, messages replayed. */
export interface RecoveryTally {
  readonly path: string;
  attempts: number;
  successes: number;
  replayed: number;
}

/**
 * What the Prometheus and OpenTelemetry exporters share: the hooks, their
 * label rules, the hook-fed counters (closes by code, recoveries), the
 * readings of the gateway counters, and the lifecycle. A hook before
 * `start()` or after `stop()` does nothing, so the hub may call it from its
 * construction on.
 */
export abstract class MetricsBase implements MetricsExporter {
  protected readonly labels: LabelRules;
  protected readonly buckets: { readonly handler: readonly number[]; readonly fanOut: readonly number[]; readonly brokerLag: readonly number[] };
  protected readonly closes = new LabelSets<CloseTally>((path, code) => ({ path, code, count: 0 }));
  protected readonly recoveries = new LabelSets<RecoveryTally>((path) => ({ path, attempts: 0, successes: 0, replayed: 0 }));
  protected readonly readings = new GatewayReadings();
  protected source: MetricsSource | undefined;
  private live = false;
  private lifecycle: 'stopped' | 'starting' | 'started' = 'stopped';

  protected constructor(options: MetricsLabelOptions) {
    this.labels = new LabelRules(options.rooms, options.closeCodes);
    this.buckets = {
      handler: checkBuckets('handler', options.buckets?.handler ?? DEFAULT_BUCKETS.handler),
      fanOut: checkBuckets('fanOut', options.buckets?.fanOut ?? DEFAULT_BUCKETS.fanOut),
      brokerLag: checkBuckets('brokerLag', options.buckets?.brokerLag ?? DEFAULT_BUCKETS.brokerLag),
    };
  }

  // --- The hooks (hot path). ------------------------------------------------

  connectionClosed(path: string, code: number): void {
    if (this.live) {
      this.closes.get(path, this.labels.code(code)).count++;
    }
  }

  handlerFinished(path: string, event: string, seconds: number, failed: boolean): void {
    if (this.live) {
      this.observeHandler(path, this.labels.event(path, event), failed ? 'error' : 'ok', seconds);
    }
  }

  fannedOut(path: string, room: string | undefined, deliveries: number, seconds: number): void {
    // A broadcast nobody here received says nothing about fan-out cost, and would pull the quantiles down.
    if (this.live && deliveries > 0) {
      this.observeFanOut(path, this.labels.labelsRooms ? this.labels.room(room) : '', seconds);
    }
  }

  brokerLag(seconds: number): void {
    if (this.live) {
      this.observeBrokerLag(seconds);
    }
  }

  recovery(path: string, recovered: boolean, replayed: number): void {
    if (this.live) {
      const tally = this.recoveries.get(path);
      tally.attempts++;
      if (recovered) {
        tally.successes++;
      }
      tally.replayed += replayed;
    }
  }

  // --- Lifecycle. -------------------------------------------------------------

  async start(source: MetricsSource, http?: MetricsHttpServer): Promise<void> {
    if (this.lifecycle !== 'stopped') {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `This ${this.constructor.name} is already started: an exporter serves one application; make one per app.`);
    }
    this.lifecycle = 'starting';
    try {
      await this.open(source, http);
    } catch (error) {
      this.lifecycle = 'stopped';
      throw error;
    }
    this.source = source;
    this.lifecycle = 'started';
    this.live = true;
  }

  async stop(): Promise<void> {
    if (this.lifecycle !== 'started') {
      return;
    }
    this.live = false;
    this.lifecycle = 'stopped';
    await this.close();
    this.source = undefined;
  }

  /** Whether the exporter is started (hooks record). */
  get started(): boolean {
    return this.live;
  }

  protected abstract open(source: MetricsSource, http: MetricsHttpServer | undefined): Promise<void>;
  protected abstract close(): Promise<void>;
  protected abstract observeHandler(path: string, event: string, outcome: Outcome, seconds: number): void;
  protected abstract observeFanOut(path: string, room: string, seconds: number): void;
  protected abstract observeBrokerLag(seconds: number): void;
}

function checkBuckets(name: string, bounds: readonly number[]): readonly number[] {
  const valid = Array.isArray(bounds) && bounds.length > 0 && bounds.every((bound, index) => Number.isFinite(bound) && bound > 0 && (index === 0 || bound > bounds[index - 1]));
  if (!valid) {
    throw new SwitchboardError(ErrorCode.INVALID_OPTION, `metrics buckets.${name} must be positive finite numbers in ascending order.`);
  }
  return [...bounds];
}

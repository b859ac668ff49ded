import { Module, type DynamicModule, type ModuleMetadata, type Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Broker } from '../broker/broker.interface.js';
import type { ClusterOptions } from '../interfaces/cluster.interface.js';
import type { RecoveryOptions } from '../interfaces/recovery.interface.js';
import { SwitchboardHub } from '../hub/switchboard-hub.js';
import type { MetricsExporter } from '../metrics/metrics-exporter.js';
import { MetricsLifecycle } from '../metrics/metrics-lifecycle.js';
import { Broadcaster } from './broadcaster.js';

export interface SwitchboardModuleOptions {
  /**
   * Carries broadcasts between processes. Default: an in-memory broker
   * (one process), or an `InMemoryBus`-backed one for several apps in one process. Any
   * implementation of `Broker` that passes the conformance suite works.
   */
  broker?: Broker;
  /** Node liveness and cluster-wide calls: heartbeat interval, node timeout, default call timeout. */
  cluster?: ClusterOptions;
  /** Connection-state recovery for every gateway (history per room, sessions, replay). Off by default. */
  recovery?: RecoveryOptions | boolean;
  /**
   * A metrics exporter (`nestjs-switchboard/metrics`: `PrometheusMetrics`,
   * `OpenTelemetryMetrics`), started with the application. Off by default;
   * while off, the hot path does not even read the clock for it.
   */
  metrics?: MetricsExporter;
}

export interface SwitchboardModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: Array<string | symbol | Function>;
  useFactory: (...args: never[]) => SwitchboardModuleOptions | Promise<SwitchboardModuleOptions>;
}

export const SWITCHBOARD_OPTIONS = Symbol('SWITCHBOARD_OPTIONS');

const hubProvider: Provider = {
  provide: SwitchboardHub,
  useFactory: (options: SwitchboardModuleOptions) => new SwitchboardHub(options.broker, options.cluster, options.recovery, options.metrics),
  inject: [SWITCHBOARD_OPTIONS],
};

/** Starts and stops the exporter; the HTTP adapter (for a scrape route) is optional: an application context has none. */
const metricsProvider: Provider = {
  provide: MetricsLifecycle,
  useFactory: (options: SwitchboardModuleOptions, hub: SwitchboardHub, http: HttpAdapterHost | undefined) => new MetricsLifecycle(options.metrics, hub, http),
  inject: [SWITCHBOARD_OPTIONS, SwitchboardHub, { token: HttpAdapterHost, optional: true }],
};

/**
 * Provides the injectable {@link Broadcaster} and the hub the adapter
 * shares with it. Import once, in the root module; the adapter built with
 * `new SwitchboardAdapter(app)` finds the hub by itself.
 */
@Module({})
export class SwitchboardModule {
  static forRoot(options: SwitchboardModuleOptions = {}): DynamicModule {
    return {
      module: SwitchboardModule,
      global: true,
      providers: [{ provide: SWITCHBOARD_OPTIONS, useValue: options }, hubProvider, metricsProvider, Broadcaster],
      exports: [SwitchboardHub, Broadcaster],
    };
  }

  static forRootAsync(options: SwitchboardModuleAsyncOptions): DynamicModule {
    return {
      module: SwitchboardModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: SWITCHBOARD_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        hubProvider,
        metricsProvider,
        Broadcaster,
      ],
      exports: [SwitchboardHub, Broadcaster],
    };
  }
}

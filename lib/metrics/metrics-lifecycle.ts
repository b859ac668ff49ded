import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { MetricsExporter, MetricsHttpServer, MetricsSource } from './metrics-exporter.js';

/**
 * Starts the module's metrics exporter with the application and stops it
 * after the gateways have closed. Starting on module init is what loads the
 * optional package (a missing one fails the bootstrap with MISSING_PACKAGE,
 * rather than the first scrape) and mounts the endpoint before Nest adds its
 * not-found handler.
 */
export class MetricsLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly exporter: MetricsExporter | undefined,
    private readonly source: MetricsSource,
    /** Nest's `HttpAdapterHost`; its adapter is undefined in an application context without HTTP. */
    private readonly http: { readonly httpAdapter?: MetricsHttpServer } | undefined,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.exporter?.start(this.source, this.http?.httpAdapter ?? undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.exporter?.stop();
  }
}

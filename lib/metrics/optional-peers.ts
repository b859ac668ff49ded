import type * as OpenTelemetryApiModule from '@opentelemetry/api';
import type * as PromClientModule from 'prom-client';
import { loadOptionalPackage } from '../internals/optional-package.js';

export type PromClient = typeof PromClientModule;
export type OpenTelemetryApi = typeof OpenTelemetryApiModule;

/**
 * @internal The imports of the optional peers, in one replaceable place: a
 * test swaps one for a loader that fails as a missing package does, instead
 * of uninstalling the package.
 */
export const optionalPeers = {
  promClient: (): Promise<PromClient> => import('prom-client'),
  openTelemetryApi: (): Promise<OpenTelemetryApi> => import('@opentelemetry/api'),
};

/** prom-client, loaded on the exporter's start; MISSING_PACKAGE names it when it is not installed. */
export async function loadPromClient(): Promise<PromClient> {
  return interop(await loadOptionalPackage('prom-client', 'PrometheusMetrics (nestjs-switchboard/metrics)', () => optionalPeers.promClient()));
}

/** @opentelemetry/api, loaded on the exporter's start when no meter was given. */
export async function loadOpenTelemetryApi(): Promise<OpenTelemetryApi> {
  return interop(await loadOptionalPackage('@opentelemetry/api', 'OpenTelemetryMetrics (nestjs-switchboard/metrics) without a meter', () => optionalPeers.openTelemetryApi()));
}

/**
 * prom-client is CommonJS: imported from ESM, its exports may sit under
 * `default` only (when Node's lexer cannot see them), so take them from
 * there when the namespace has none of its own.
 */
function interop<T extends object>(namespace: T): T {
  const fallback = (namespace as { default?: T }).default;
  return Object.keys(namespace).some((key) => key !== 'default') || fallback === undefined ? namespace : fallback;
}

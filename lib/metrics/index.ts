// nestjs-switchboard/metrics: Prometheus and OpenTelemetry exporters. Their packages
// (prom-client, @opentelemetry/api) are optional peers, loaded when the exporter starts.
export { PrometheusMetrics, type PrometheusMetricsOptions } from './prometheus-metrics.js';
export { OpenTelemetryMetrics, type OpenTelemetryMetricsOptions } from './opentelemetry-metrics.js';
export type { HistogramBuckets, MetricsLabelOptions } from './metrics-base.js';
export { MAX_EVENT_LABELS_PER_PATH, MAX_TEMPLATE_ROOM_LABELS, type RoomLabelRule } from './labels.js';
export type { MetricsExporter, MetricsHttpServer, MetricsSource } from './metrics-exporter.js';
export type { MetricsRecorder } from '../interfaces/metrics.interface.js';

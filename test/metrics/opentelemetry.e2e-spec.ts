import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { metrics as otelMetrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { OpenTelemetryMetrics } from '../../lib/metrics/index.js';
import { TestClient } from '../helpers/ws-client.js';
import { eventually, startMetricsApp, type MetricsApp } from './metrics-app.js';

/**
 * The OpenTelemetry exporter end to end: the SDK's MeterProvider with a
 * periodic reader into an in-memory exporter (collected on demand), a real
 * app and real clients.
 */
describe('OpenTelemetryMetrics on a real app', () => {
  const apps: MetricsApp[] = [];
  const clients: TestClient[] = [];
  const providers: MeterProvider[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)));
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await Promise.all(providers.splice(0).map((provider) => provider.shutdown()));
    otelMetrics.disable();
  });

  function sdk(): { provider: MeterProvider; reader: PeriodicExportingMetricReader; exporter: InMemoryMetricExporter } {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    // A long interval: the test collects when it wants to.
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    providers.push(provider);
    return { provider, reader, exporter };
  }

  async function collect(reader: PeriodicExportingMetricReader): Promise<MetricData[]> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  }

  function points(data: readonly MetricData[], name: string): Array<DataPoint<number | Histogram>> {
    return data.filter((metric) => metric.descriptor.name === name).flatMap((metric) => metric.dataPoints as Array<DataPoint<number | Histogram>>);
  }

  /** The value of the one point with (at least) these attributes. */
  function pointOf(data: readonly MetricData[], name: string, attributes: Record<string, string> = {}): number | Histogram | undefined {
    const matching = points(data, name).filter((point) => Object.entries(attributes).every(([key, value]) => point.attributes[key] === value));
    expect(matching.length).toBeLessThanOrEqual(1);
    return matching[0]?.value;
  }

  it('observes connections, messages, bytes and closes at collection, and records handler and fan-out histograms', async () => {
    const { provider, reader } = sdk();
    const app = await startMetricsApp({
      metrics: new OpenTelemetryMetrics({ meter: provider.getMeter('chat'), rooms: (room) => (room.startsWith('game:') ? 'game:*' : undefined) }),
    });
    apps.push(app);
    const a = await TestClient.connect(app.url('/m'));
    const b = await TestClient.connect(app.url('/m'));
    clients.push(a, b);
    await a.request('echo', 1, 'e1');
    await a.request('echo', 2, 'e2');
    await a.request('fail', null, 'f');
    const ids = [(await a.request('join', 'game:1', 'j1')).data, (await b.request('join', 'game:2', 'j2')).data, (await b.request('join', 'lobby', 'j3')).data] as string[];
    await a.request('shout', { room: 'game:1', text: 'x' }, 's1');
    await a.request('shout', { room: 'game:2', text: 'y' }, 's2');
    await a.request('shout', { room: 'lobby', text: 'z' }, 's3');
    await eventually(() => expect(b.received.filter((frame) => (frame as { event?: string }).event === 'news')).toHaveLength(2));

    const data = await collect(reader);
    const m = { path: '/m' };
    expect(pointOf(data, 'switchboard.connections', m)).toBe(2);
    expect(pointOf(data, 'switchboard.connections.opened', m)).toBe(2);
    expect(pointOf(data, 'switchboard.messages.received', m)).toBe(9);
    expect(pointOf(data, 'switchboard.received.bytes', m)).toBeGreaterThan(0);
    expect(pointOf(data, 'switchboard.messages.sent', m)).toBe(a.rawFrames.length + b.rawFrames.length);
    expect(pointOf(data, 'switchboard.sent.bytes', m)).toBe([...a.rawFrames, ...b.rawFrames].reduce((sum, frame) => sum + frame.data.length, 0));
    expect(pointOf(data, 'switchboard.cluster.nodes')).toBe(1);

    const descriptor = (name: string): MetricData => data.find((metric) => metric.descriptor.name === name)!;
    expect(descriptor('switchboard.connections').dataPointType).toBe(DataPointType.SUM);
    expect(descriptor('switchboard.connections.opened').dataPointType).toBe(DataPointType.SUM);
    expect(descriptor('switchboard.cluster.nodes').dataPointType).toBe(DataPointType.GAUGE);
    expect(descriptor('switchboard.handler.duration')).toMatchObject({ dataPointType: DataPointType.HISTOGRAM, descriptor: { unit: 's' } });
    expect(descriptor('switchboard.received.bytes').descriptor.unit).toBe('By');

    const echo = pointOf(data, 'switchboard.handler.duration', { path: '/m', event: 'echo', outcome: 'ok' }) as Histogram;
    expect(echo.count).toBe(2);
    expect(echo.buckets.boundaries).toEqual([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    expect((pointOf(data, 'switchboard.handler.duration', { event: 'fail', outcome: 'error' }) as Histogram).count).toBe(1);
    // Rooms through the template: both games as one label, the lobby as "other".
    expect((pointOf(data, 'switchboard.broadcast.fanout.duration', { path: '/m', room: 'game:*' }) as Histogram).count).toBe(2);
    expect((pointOf(data, 'switchboard.broadcast.fanout.duration', { path: '/m', room: 'other' }) as Histogram).count).toBe(1);

    // No socket id in any attribute.
    const attributeValues = data.flatMap((metric) => (metric.dataPoints as Array<DataPoint<unknown>>).flatMap((point) => Object.values(point.attributes).map(String)));
    expect(attributeValues.filter((value) => ids.some((id) => value.includes(id)))).toEqual([]);
    expect(attributeValues).not.toContain('game:1');

    a.socket.close(1000);
    await a.waitClose();
    await eventually(async () => expect(pointOf(await collect(reader), 'switchboard.connections.closed', { path: '/m', code: '1000' })).toBe(1));
    expect(pointOf(await collect(reader), 'switchboard.connections', m)).toBe(1);
  });

  it('exports through the reader to the in-memory exporter, and stops observing when the app closes', async () => {
    const { provider, reader, exporter } = sdk();
    const meter = provider.getMeter('chat');
    const added = jest.spyOn(meter, 'addBatchObservableCallback');
    const removed = jest.spyOn(meter, 'removeBatchObservableCallback');
    const app = await startMetricsApp({ metrics: new OpenTelemetryMetrics({ meter, prefix: 'ws.' }) });
    expect(added).toHaveBeenCalledTimes(1);
    const client = await TestClient.connect(app.url('/m'));
    await client.request('echo', 'x', 'e');
    await client.close();
    await reader.forceFlush();
    const exported = exporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    expect(pointOf(exported, 'ws.connections.opened', { path: '/m' })).toBe(1);
    expect((pointOf(exported, 'ws.handler.duration', { event: 'echo' }) as Histogram).count).toBe(1);
    expect(removed).not.toHaveBeenCalled();
    await app.close();
    // The batch callback is gone: nothing reads the closed app's counters any more.
    expect(removed).toHaveBeenCalledTimes(1);
    expect(removed.mock.calls[0]).toEqual(added.mock.calls[0]);
  });

  it("uses the global MeterProvider's meter (@opentelemetry/api) without a meter option", async () => {
    const { provider, reader } = sdk();
    otelMetrics.setGlobalMeterProvider(provider);
    const app = await startMetricsApp({ metrics: new OpenTelemetryMetrics() });
    apps.push(app);
    const client = await TestClient.connect(app.url('/m'));
    clients.push(client);
    await client.request('echo', 'x', 'e');
    const data = await collect(reader);
    expect(pointOf(data, 'switchboard.connections', { path: '/m' })).toBe(1);
    const scope = (await reader.collect()).resourceMetrics.scopeMetrics.find((entry) => entry.metrics.some((metric) => metric.descriptor.name === 'switchboard.connections'));
    expect(scope?.scope.name).toBe('nestjs-switchboard');
  });
});

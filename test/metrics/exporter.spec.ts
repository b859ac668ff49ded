import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Gauge, Registry } from 'prom-client';
import { ErrorCode, SwitchboardModule, type ClusterStats, type GatewayStatsSnapshot } from '../../lib/index.js';
import { SwitchboardHub } from '../../lib/hub/switchboard-hub.js';
import { LabelRules, MAX_EVENT_LABELS_PER_PATH, MAX_TEMPLATE_ROOM_LABELS } from '../../lib/metrics/labels.js';
import { HistogramCell } from '../../lib/metrics/label-sets.js';
import { OpenTelemetryMetrics, PrometheusMetrics } from '../../lib/metrics/index.js';
import type { MetricsSource } from '../../lib/metrics/metrics-exporter.js';
import { optionalPeers } from '../../lib/metrics/optional-peers.js';
import { GatewayStats } from '../../lib/stats/gateway-stats.js';
import { RecordingLogger } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';
import { MetricsGateway, parseExposition, startMetricsApp, valueOf, type MetricsApp } from './metrics-app.js';

const missing = (name: string): (() => Promise<never>) => () => Promise.reject(Object.assign(new Error(`Cannot find package '${name}' imported from lib/metrics/optional-peers.js`), { code: 'ERR_MODULE_NOT_FOUND' }));

/** A hub stand-in: paths with servers whose snapshots the test sets. */
class FakeSource implements MetricsSource {
  readonly servers = new Map<string, Array<{ getStats(): GatewayStatsSnapshot }>>();

  paths(): string[] {
    return [...this.servers.keys()];
  }
  serversAt(path: string): readonly { getStats(): GatewayStatsSnapshot }[] {
    return this.servers.get(path) ?? [];
  }
  stats(): ClusterStats {
    return {
      nodeTag: 'node0000',
      published: 0,
      received: 0,
      ownEchoes: 0,
      duplicateCopies: 0,
      receivedWithoutRecipient: 0,
      receivedAllExcluded: 0,
      malformed: 0,
      publishFailures: 0,
      channels: 0,
      broker: { published: 0, publishDropped: 0, publishBuffered: 0, received: 0, subscriptions: 0, reconnects: 3, resubscribeCommands: 2 },
    };
  }
  nodes(): readonly unknown[] {
    return [{}];
  }
  server(path: string, counts: Partial<GatewayStats> & { connections?: number }): { getStats(): GatewayStatsSnapshot; counts: typeof counts } {
    const server = { counts, getStats: (): GatewayStatsSnapshot => ({ ...new GatewayStats(), rooms: 0, connections: 0, ...server.counts, path }) };
    this.servers.set(path, [...(this.servers.get(path) ?? []), server]);
    return server;
  }
}

async function scrapeOf(metrics: PrometheusMetrics): Promise<ReturnType<typeof parseExposition>> {
  return parseExposition((await metrics.scrape()).body);
}

describe('metrics exporters: lifecycle, optional packages, options', () => {
  const apps: MetricsApp[] = [];
  const realPeers = { ...optionalPeers };

  afterEach(async () => {
    Object.assign(optionalPeers, realPeers);
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('fails the bootstrap with MISSING_PACKAGE, naming prom-client, when it is not installed', async () => {
    optionalPeers.promClient = missing('prom-client');
    const failure = await startMetricsApp({ metrics: new PrometheusMetrics({ registry: new Registry() }) }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'SwitchboardError', code: ErrorCode.MISSING_PACKAGE });
    expect((failure as Error).message).toContain('npm install prom-client');
  });

  it('fails with MISSING_PACKAGE for @opentelemetry/api only when no meter is given', async () => {
    optionalPeers.openTelemetryApi = missing('@opentelemetry/api');
    await expect(startMetricsApp({ metrics: new OpenTelemetryMetrics() })).rejects.toMatchObject({ code: ErrorCode.MISSING_PACKAGE, message: expect.stringContaining('npm install @opentelemetry/api') });
    const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
    const provider = new MeterProvider();
    apps.push(await startMetricsApp({ metrics: new OpenTelemetryMetrics({ meter: provider.getMeter('x') }) }));
    await provider.shutdown();
  });

  it('any other failure of the import is not disguised as a missing package', async () => {
    const broken = new Error('SyntaxError in prom-client');
    optionalPeers.promClient = () => Promise.reject(broken);
    await expect(new PrometheusMetrics({ registry: new Registry() }).start(new FakeSource())).rejects.toBe(broken);
  });

  it('without an HTTP adapter (an application context) warns that the route is not served; scrape() still works', async () => {
    const logger = new RecordingLogger();
    const metrics = new PrometheusMetrics({ registry: new Registry() });
    const moduleRef = await Test.createTestingModule({ imports: [SwitchboardModule.forRoot({ metrics })] }).compile();
    moduleRef.useLogger(logger);
    await moduleRef.init();
    try {
      expect(logger.entries.filter((entry) => entry.level === 'warn').map((entry) => String(entry.message))).toEqual([
        'No HTTP server in this application: /metrics is not served. Serve metrics.scrape() yourself, or set path: false to silence this.',
      ]);
      expect(valueOf(await scrapeOf(metrics), 'switchboard_cluster_nodes')).toBe(1);
    } finally {
      await moduleRef.close();
    }
    await expect(metrics.scrape()).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION });
  });

  it('forRootAsync takes the exporter from the factory; without one, the hub has no hooks at all (nothing timed)', async () => {
    const registry = new Registry();
    const moduleRef = await Test.createTestingModule({
      imports: [SwitchboardModule.forRootAsync({ useFactory: () => ({ metrics: new PrometheusMetrics({ registry }) }) })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    expect(app.get(SwitchboardHub).metrics).toBeInstanceOf(PrometheusMetrics);
    expect(registry.getSingleMetric('switchboard_connections')).toBeDefined();
    await app.close();
    const plain = await startMetricsApp({});
    apps.push(plain);
    expect(plain.hub.metrics).toBeUndefined();
    expect((await plain.get('/metrics')).status).toBe(404);
  });

  it('answers 500 and logs when a collector in the registry throws', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'broken',
      help: 'Throws when collected.',
      registers: [registry],
      collect() {
        throw new Error('collector boom');
      },
    });
    const logger = new RecordingLogger();
    const app = await startMetricsApp({ metrics: new PrometheusMetrics({ registry }) }, [MetricsGateway], logger);
    apps.push(app);
    const response = await app.get('/metrics');
    expect(response.status).toBe(500);
    expect(logger.errors().map((entry) => String(entry.message))).toEqual(['Collecting the metrics failed: collector boom']);
  });

  it('hooks before start and after stop record nothing; an exporter starts once at a time', async () => {
    const source = new FakeSource();
    source.server('/a', { connectionsOpened: 1 });
    const metrics = new PrometheusMetrics({ registry: new Registry() });
    metrics.handlerFinished('/a', 'echo', 0.001, false);
    metrics.connectionClosed('/a', 1000);
    metrics.recovery('/a', true, 5);
    await metrics.start(source);
    await expect(metrics.start(source)).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION, message: expect.stringContaining('already started') });
    let samples = await scrapeOf(metrics);
    expect(valueOf(samples, 'switchboard_handler_duration_seconds_count')).toBeUndefined();
    expect(valueOf(samples, 'switchboard_connections_closed_total')).toBeUndefined();
    expect(valueOf(samples, 'switchboard_recovery_attempts_total')).toBeUndefined();
    expect(valueOf(samples, 'switchboard_connections_opened_total', { path: '/a' })).toBe(1);
    expect(valueOf(samples, 'switchboard_broker_reconnects_total')).toBe(3);
    expect(valueOf(samples, 'switchboard_broker_resubscribe_commands_total')).toBe(2);
    metrics.handlerFinished('/a', 'echo', 0.001, false);
    metrics.fannedOut('/a', 'lobby', 0, 0.001); // Nobody received it: not observed.
    metrics.fannedOut('/a', 'lobby', 3, 0.001);
    metrics.brokerLag(0.002);
    samples = await scrapeOf(metrics);
    expect(valueOf(samples, 'switchboard_handler_duration_seconds_count', { path: '/a', event: 'echo', outcome: 'ok' })).toBe(1);
    expect(valueOf(samples, 'switchboard_broadcast_fanout_duration_seconds_count', { path: '/a' })).toBe(1);
    expect(valueOf(samples, 'switchboard_broker_lag_seconds_bucket', { le: '0.0025' })).toBe(1);
    expect(valueOf(samples, 'switchboard_broker_lag_seconds_bucket', { le: '0.001' })).toBe(0);
    await metrics.stop();
    await metrics.stop(); // Idempotent.
    metrics.handlerFinished('/a', 'echo', 0.001, false);
    const registry = new Registry();
    const restarted = new PrometheusMetrics({ registry });
    await restarted.start(source);
    restarted.handlerFinished('/a', 'echo', 0.001, false);
    await restarted.stop();
    restarted.handlerFinished('/a', 'echo', 0.001, false); // Stopped: not recorded.
    await restarted.start(source); // Restartable, counts kept.
    expect(valueOf(await scrapeOf(restarted), 'switchboard_handler_duration_seconds_count', { event: 'echo' })).toBe(1);
    registry.resetMetrics(); // What prom-client users expect of it: the histograms empty.
    expect(valueOf(await scrapeOf(restarted), 'switchboard_handler_duration_seconds_count', { event: 'echo' })).toBeUndefined();
    await restarted.stop();
  });

  it('keeps counters monotonic when a gateway server goes away; levels drop with it', async () => {
    const source = new FakeSource();
    const first = source.server('/a', { messagesReceived: 10, connections: 2 });
    const metrics = new PrometheusMetrics({ registry: new Registry() });
    await metrics.start(source);
    expect(valueOf(await scrapeOf(metrics), 'switchboard_messages_received_total', { path: '/a' })).toBe(10);
    first.counts.messagesReceived = 12;
    expect(valueOf(await scrapeOf(metrics), 'switchboard_messages_received_total', { path: '/a' })).toBe(12);
    source.servers.delete('/a');
    const samples = await scrapeOf(metrics);
    expect(valueOf(samples, 'switchboard_messages_received_total', { path: '/a' })).toBe(12);
    expect(valueOf(samples, 'switchboard_connections', { path: '/a' })).toBe(0);
    source.server('/a', { messagesReceived: 1, connections: 1 });
    const later = await scrapeOf(metrics);
    expect(valueOf(later, 'switchboard_messages_received_total', { path: '/a' })).toBe(13);
    expect(valueOf(later, 'switchboard_connections', { path: '/a' })).toBe(1);
    await metrics.stop();
  });

  it('refuses bad options with INVALID_OPTION', () => {
    const invalid = { code: ErrorCode.INVALID_OPTION };
    expect(() => new PrometheusMetrics({ path: 'metrics' })).toThrow(expect.objectContaining(invalid));
    expect(() => new PrometheusMetrics({ prefix: 'my-app_' })).toThrow(expect.objectContaining(invalid));
    expect(() => new PrometheusMetrics({ buckets: { handler: [0.1, 0.01] } })).toThrow(expect.objectContaining(invalid));
    expect(() => new PrometheusMetrics({ buckets: { fanOut: [] } })).toThrow(expect.objectContaining(invalid));
    expect(() => new OpenTelemetryMetrics({ closeCodes: [1000] })).toThrow(expect.objectContaining(invalid));
    expect(() => new OpenTelemetryMetrics({ prefix: '1x.' })).toThrow(expect.objectContaining(invalid));
    expect(() => new OpenTelemetryMetrics({ rooms: ['lobby'] as unknown as { allow: string[] } })).toThrow(expect.objectContaining(invalid));
    expect(() => new PrometheusMetrics({ prefix: '', path: false, closeCodes: [4000, 3999], rooms: { allow: [] } })).not.toThrow();
  });
});

describe('label rules', () => {
  it('labels rooms only through the allow-list, everything else as other; no room is "" ', () => {
    const rules = new LabelRules({ allow: ['lobby'] });
    expect([rules.room('lobby'), rules.room('user:1'), rules.room(undefined)]).toEqual(['lobby', 'other', '']);
  });

  it('caps the distinct labels of a room template, warning once', () => {
    const logger = new RecordingLogger();
    Logger.overrideLogger(logger);
    try {
      const rules = new LabelRules((room) => room); // A careless template that echoes every room.
      const labels = Array.from({ length: MAX_TEMPLATE_ROOM_LABELS + 50 }, (_, n) => rules.room(`room:${n}`));
      expect(new Set(labels).size).toBe(MAX_TEMPLATE_ROOM_LABELS + 1);
      expect(labels.at(-1)).toBe('other');
      expect(rules.room('room:0')).toBe('room:0'); // Those already labelled keep their label.
      expect(new LabelRules(() => undefined).room('x')).toBe('other');
      expect(logger.entries.filter((entry) => entry.level === 'warn')).toHaveLength(1);
    } finally {
      Logger.overrideLogger(true);
    }
  });

  it('labels close codes: 1000-1015 as themselves, listed application codes as themselves, the rest of 3000-4999 by class', () => {
    const rules = new LabelRules(undefined, [4001]);
    expect([1000, 1001, 1006, 1008, 1015, 4001, 4002, 3500, 999, 2000, 5000].map((code) => rules.code(code))).toEqual([
      '1000',
      '1001',
      '1006',
      '1008',
      '1015',
      '4001',
      '4xxx',
      '3xxx',
      'other',
      'other',
      'other',
    ]);
  });

  it('caps the event labels of a path (routeMessage can route client-sent names to a handler)', () => {
    Logger.overrideLogger(false);
    try {
      const rules = new LabelRules(undefined);
      const labels = Array.from({ length: MAX_EVENT_LABELS_PER_PATH + 10 }, (_, n) => rules.event('/a', `e${n}`));
      expect(new Set(labels).size).toBe(MAX_EVENT_LABELS_PER_PATH + 1);
      expect(labels.at(-1)).toBe('other');
      expect(rules.event('/b', 'e999')).toBe('e999'); // Per path.
    } finally {
      Logger.overrideLogger(true);
    }
  });

  it('histogram cells: a value equal to a bound is counted in that bound (le), above every bound in +Inf', () => {
    const cell = new HistogramCell({}, [0.1, 1]);
    for (const value of [0.05, 0.1, 0.5, 1, 7]) {
      cell.observe(value);
    }
    expect([...cell.counts]).toEqual([2, 2, 1]);
    expect(cell.count).toBe(5);
    expect(cell.sum).toBeCloseTo(8.65);
  });
});

describe('a real app and its scrape stay consistent with getStats()', () => {
  it('exports exactly the counters of the gateway', async () => {
    const app = await startMetricsApp({ metrics: new PrometheusMetrics({ registry: new Registry() }) });
    try {
      const client = await TestClient.connect(app.url('/m'));
      await client.request('echo', 'x', 1);
      client.send('not json');
      client.send({ event: 'nobody', data: 1 });
      await client.request('echo', 'y', 2);
      const stats = app.hub.serversAt('/m')[0].getStats();
      const samples = parseExposition((await app.get('/metrics')).body);
      expect(valueOf(samples, 'switchboard_invalid_messages_total', { path: '/m' })).toBe(stats.invalidMessages);
      expect(stats.invalidMessages).toBe(1);
      expect(valueOf(samples, 'switchboard_unknown_events_total', { path: '/m' })).toBe(1);
      expect(valueOf(samples, 'switchboard_messages_received_total', { path: '/m' })).toBe(stats.messagesReceived);
      await client.close();
    } finally {
      await app.close();
    }
  });
});

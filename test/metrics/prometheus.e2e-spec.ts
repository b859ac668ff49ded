import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { PrometheusMetrics } from '../../lib/metrics/index.js';
import { TestClient } from '../helpers/ws-client.js';
import { BeatGateway, eventually, LimitedGateway, MetricsGateway, parseExposition, startMetricsApp, valueOf, type MetricsApp, type Sample } from './metrics-app.js';

/**
 * The Prometheus exporter end to end: a real Nest app on Express, real `ws`
 * clients, `/metrics` scraped over HTTP from the app's own port, and the
 * values checked against the traffic the test made.
 */
describe('PrometheusMetrics on a real app', () => {
  const apps: MetricsApp[] = [];
  const clients: TestClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)));
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  async function start(metrics: PrometheusMetrics, gateways = [MetricsGateway, LimitedGateway, BeatGateway]): Promise<MetricsApp> {
    const app = await startMetricsApp({ metrics }, gateways);
    apps.push(app);
    return app;
  }

  async function connect(app: MetricsApp, path: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const client = await TestClient.connect(app.url(path), options);
    clients.push(client);
    return client;
  }

  async function scrape(app: MetricsApp): Promise<Sample[]> {
    const response = await app.get('/metrics');
    expect(response.status).toBe(200);
    return parseExposition(response.body);
  }

  it('serves /metrics on the app port with connections, messages and bytes both ways, handler and fan-out histograms', async () => {
    const app = await start(new PrometheusMetrics({ registry: new Registry(), rooms: { allow: ['lobby'] } }));
    const response = await app.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');

    const a = await connect(app, '/m');
    const b = await connect(app, '/m');
    let framesIn = 0;
    let bytesIn = 0;
    const request = async (client: TestClient, event: string, data: unknown, id: string): Promise<{ status: string; data?: unknown }> => {
      framesIn++;
      bytesIn += Buffer.byteLength(JSON.stringify({ event, data, id }));
      return client.request(event, data, id);
    };
    for (let n = 0; n < 3; n++) {
      expect(await request(a, 'echo', `hello ${n}`, `e${n}`)).toMatchObject({ status: 'ok' });
    }
    expect(await request(a, 'fail', null, 'f')).toMatchObject({ status: 'error' });
    const ids = [await request(a, 'join', 'lobby', 'j1'), await request(b, 'join', 'lobby', 'j2'), await request(b, 'join', 'user:secret', 'j3')].map((ack) => ack.data as string);
    expect(await request(a, 'shout', { room: 'lobby', text: 'hi all' }, 's1')).toMatchObject({ data: 2 });
    expect(await request(b, 'shout', { room: 'user:secret', text: 'psst' }, 's2')).toMatchObject({ data: 1 });
    await a.event('news');
    await b.event('news');
    await b.event('news');

    const samples = await scrape(app);
    const m = { path: '/m' };
    expect(valueOf(samples, 'switchboard_connections', m)).toBe(2);
    expect(valueOf(samples, 'switchboard_connections_opened_total', m)).toBe(2);
    expect(valueOf(samples, 'switchboard_rooms', m)).toBe(2);
    expect(valueOf(samples, 'switchboard_messages_received_total', m)).toBe(framesIn);
    expect(valueOf(samples, 'switchboard_received_bytes_total', m)).toBe(bytesIn);
    const framesOut = [...a.rawFrames, ...b.rawFrames];
    expect(valueOf(samples, 'switchboard_messages_sent_total', m)).toBe(framesOut.length);
    expect(valueOf(samples, 'switchboard_sent_bytes_total', m)).toBe(framesOut.reduce((sum, frame) => sum + frame.data.length, 0));
    expect(valueOf(samples, 'switchboard_broadcasts_total', m)).toBe(2);
    expect(valueOf(samples, 'switchboard_broadcast_deliveries_total', m)).toBe(3);
    expect(valueOf(samples, 'switchboard_handler_errors_total', m)).toBe(1);

    // Handler durations by event and outcome: one observation per handled message.
    const handled = (event: string, outcome = 'ok'): number | undefined => valueOf(samples, 'switchboard_handler_duration_seconds_count', { path: '/m', event, outcome });
    expect([handled('echo'), handled('fail', 'error'), handled('join'), handled('shout')]).toEqual([3, 1, 3, 2]);
    expect(handled('echo', 'error')).toBeUndefined();
    const echoBuckets = samples.filter((sample) => sample.name === 'switchboard_handler_duration_seconds_bucket' && sample.labels.event === 'echo');
    expect(echoBuckets.map((sample) => sample.labels.le)).toEqual(['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    expect(echoBuckets.at(-1)!.value).toBe(3);
    expect(echoBuckets.every((sample, index) => index === 0 || sample.value >= echoBuckets[index - 1].value)).toBe(true); // cumulative
    expect(valueOf(samples, 'switchboard_handler_duration_seconds_sum', { event: 'echo' })).toBeGreaterThan(0);

    // Fan-outs: the allowed room as itself, the user's room only as "other".
    expect(valueOf(samples, 'switchboard_broadcast_fanout_duration_seconds_count', { path: '/m', room: 'lobby' })).toBe(1);
    expect(valueOf(samples, 'switchboard_broadcast_fanout_duration_seconds_count', { path: '/m', room: 'other' })).toBe(1);

    // The node's figures, one process and no peers.
    expect(valueOf(samples, 'switchboard_cluster_nodes')).toBe(1);
    expect(valueOf(samples, 'switchboard_broker_reconnects_total')).toBe(0);
    expect(valueOf(samples, 'switchboard_broker_resubscribe_commands_total')).toBe(0);
    expect(valueOf(samples, 'switchboard_broker_lag_seconds_count')).toBe(0);

    // No socket id anywhere in a label, and nothing shaped like one.
    const labelValues = samples.flatMap((sample) => Object.values(sample.labels));
    for (const id of ids) {
      expect(labelValues.filter((value) => value.includes(id))).toEqual([]);
    }
    expect(labelValues.filter((value) => /^[A-Za-z0-9_-]{24}$/.test(value))).toEqual([]);
    expect(labelValues).not.toContain('user:secret');
    expect(new Set(samples.flatMap((sample) => Object.keys(sample.labels)))).toEqual(new Set(['path', 'event', 'outcome', 'room', 'le']));
  });

  it('counts closes by code (listed application codes as themselves, others by class), rate-limited messages and heartbeat timeouts', async () => {
    const app = await start(new PrometheusMetrics({ registry: new Registry(), closeCodes: [4001] }));
    const byClient = await connect(app, '/m');
    byClient.socket.close(1000, 'done');
    await byClient.waitClose();
    for (const code of [4001, 4002, 4003]) {
      const client = await connect(app, '/m');
      client.send({ event: 'bye', data: code });
      expect((await client.waitClose()).code).toBe(code);
    }

    // Rate limit: a burst of 5 passes, the rest are refused, the 10th refusal in a row closes with 1008.
    const flooder = await connect(app, '/limited');
    for (let n = 0; n < 30; n++) {
      flooder.send({ event: 'echo', data: n });
    }
    expect((await flooder.waitClose()).code).toBe(1008);

    // Heartbeat: a client that never answers a ping is terminated.
    const silent = await connect(app, '/beat', { autoPong: false });
    await silent.waitClose(2000);

    const limited = app.hub.serversAt('/limited')[0].getStats();
    await eventually(async () => {
      const samples = await scrape(app);
      const closed = (path: string, code: string): number | undefined => valueOf(samples, 'switchboard_connections_closed_total', { path, code });
      expect([closed('/m', '1000'), closed('/m', '4001'), closed('/m', '4xxx')]).toEqual([1, 1, 2]);
      expect(closed('/m', '4002')).toBeUndefined();
      expect(closed('/limited', '1008')).toBe(1);
      expect(closed('/beat', '1006')).toBe(1);
      expect(valueOf(samples, 'switchboard_rate_limited_messages_total', { path: '/limited' })).toBe(limited.rateLimited);
      expect(limited.rateLimited).toBeGreaterThanOrEqual(10);
      // One connection closed by the rate limit: counted once, however many frames it sent while its close waited.
      expect(valueOf(samples, 'switchboard_rate_limit_closes_total', { path: '/limited' })).toBe(1);
      expect(limited.rateLimitCloses).toBe(1);
      expect(valueOf(samples, 'switchboard_heartbeat_timeouts_total', { path: '/beat' })).toBe(1);
      expect(valueOf(samples, 'switchboard_connections', { path: '/m' })).toBe(0);
      expect(valueOf(samples, 'switchboard_connections_opened_total', { path: '/m' })).toBe(4);
    });
  });

  it('keeps the series count flat across 10,000 connects, each joining its own room and getting a broadcast there', async () => {
    const app = await start(new PrometheusMetrics({ registry: new Registry(), rooms: { allow: ['lobby'] } }), [MetricsGateway]);
    const visit = async (n: number): Promise<string> => {
      const socket = new WebSocket(app.url('/m'));
      const frames: Array<{ id?: string; data?: unknown; event?: string }> = [];
      let answered: () => void = () => undefined;
      socket.on('message', (raw: Buffer) => {
        frames.push(JSON.parse(raw.toString()) as { id?: string });
        answered();
      });
      await new Promise<void>((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const until = (check: () => boolean): Promise<void> =>
        new Promise<void>((resolve) => {
          answered = () => check() && resolve();
          answered();
        });
      socket.send(JSON.stringify({ event: 'join', data: `user:${n}`, id: 'j' }));
      await until(() => frames.some((frame) => frame.id === 'j'));
      socket.send(JSON.stringify({ event: 'shout', data: { room: `user:${n}`, text: 'x' }, id: 's' }));
      await until(() => frames.some((frame) => frame.id === 's') && frames.some((frame) => frame.event === 'news'));
      // Half close from the client, half from the server, so both ends' codes are exercised.
      const closed = new Promise((resolve) => socket.once('close', resolve));
      if (n % 2 === 0) {
        socket.close(1000);
      } else {
        socket.send(JSON.stringify({ event: 'bye', data: 4000 }));
      }
      await closed;
      return frames.find((frame) => frame.id === 'j')!.data as string;
    };
    const ids: string[] = [await visit(0), await visit(1)];
    await eventually(async () => expect(valueOf(await scrape(app), 'switchboard_connections', { path: '/m' })).toBe(0));
    const before = await scrape(app);

    for (let batch = 0; batch < 10_000; batch += 250) {
      ids.push(...(await Promise.all(Array.from({ length: 250 }, (_, offset) => visit(2 + batch + offset)))));
    }
    let after: Sample[] = [];
    await eventually(async () => {
      after = await scrape(app);
      expect(valueOf(after, 'switchboard_connections', { path: '/m' })).toBe(0);
    });
    expect(valueOf(after, 'switchboard_connections_opened_total', { path: '/m' })).toBe(10_002);
    expect(valueOf(after, 'switchboard_broadcast_fanout_duration_seconds_count', { room: 'other' })).toBe(10_002);
    expect(valueOf(after, 'switchboard_connections_closed_total', { code: '1000' })).toBe(5001);
    expect(valueOf(after, 'switchboard_connections_closed_total', { code: '4xxx' })).toBe(5001);
    const series = (samples: Sample[]): string[] => samples.map((sample) => `${sample.name}${JSON.stringify(sample.labels)}`).sort();
    expect(series(after)).toEqual(series(before));
    expect(after.length).toBe(before.length);
    const labelValues = new Set(after.flatMap((sample) => Object.values(sample.labels)));
    expect(ids.filter((id) => labelValues.has(id))).toEqual([]);
  }, 120_000);

  it('with path: false mounts no route; scrape() returns the registry for serving it yourself', async () => {
    const registry = new Registry();
    const metrics = new PrometheusMetrics({ registry, path: false, prefix: 'chat_' });
    const app = await start(metrics, [MetricsGateway]);
    expect((await app.get('/metrics')).status).toBe(404);
    const client = await connect(app, '/m');
    await client.request('echo', 1, 'x');
    const { contentType, body } = await metrics.scrape();
    expect(contentType).toBe(registry.contentType);
    const samples = parseExposition(body);
    expect(valueOf(samples, 'chat_handler_duration_seconds_count', { event: 'echo' })).toBe(1);
    expect(samples.filter((sample) => sample.name.startsWith('switchboard_'))).toEqual([]);
  });

  it("serves the whole registry at the route: the app's own metrics beside the gateway's", async () => {
    const registry = new Registry();
    const { Counter } = await import('prom-client');
    const own = new Counter({ name: 'orders_total', help: 'Orders placed.', registers: [registry] });
    own.inc(7);
    const app = await start(new PrometheusMetrics({ registry, path: '/internal/metrics' }), [MetricsGateway]);
    const response = await app.get('/internal/metrics');
    expect(response.status).toBe(200);
    const samples = parseExposition(response.body);
    expect(valueOf(samples, 'orders_total')).toBe(7);
    expect(valueOf(samples, 'switchboard_cluster_nodes')).toBe(1);
    // The registry's JSON view sees the histograms too.
    const json = await registry.getMetricsAsJSON();
    expect(json.find((metric) => metric.name === 'switchboard_handler_duration_seconds')).toMatchObject({ type: 'histogram', values: [] });
  });

  it('unregisters on shutdown, so the next app can use the same registry; two live apps on one registry are refused', async () => {
    const registry = new Registry();
    const first = await startMetricsApp({ metrics: new PrometheusMetrics({ registry }) }, [MetricsGateway]);
    await expect(startMetricsApp({ metrics: new PrometheusMetrics({ registry }) }, [MetricsGateway])).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('already has a metric named switchboard_'),
    });
    expect(registry.getSingleMetric('switchboard_connections')).toBeDefined();
    const visitor = await TestClient.connect(first.url('/m'));
    await visitor.close();
    await first.close();
    expect(registry.getMetricsAsArray()).toEqual([]);
    const second = await start(new PrometheusMetrics({ registry }), [MetricsGateway]);
    expect(valueOf(await scrape(second), 'switchboard_connections_opened_total', { path: '/m' })).toBe(0); // The new app's own counts.
  });

  it('uses prom-client’s global registry by default', async () => {
    const { register } = await import('prom-client');
    const app = await start(new PrometheusMetrics(), [MetricsGateway]);
    expect(register.getSingleMetric('switchboard_handler_duration_seconds')).toBeDefined();
    await app.close();
    apps.length = 0;
    expect(register.getSingleMetric('switchboard_handler_duration_seconds')).toBeUndefined();
  });
});

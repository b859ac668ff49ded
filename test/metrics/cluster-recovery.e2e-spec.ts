import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { InMemoryBroker, InMemoryBus } from '../../lib/index.js';
import { PrometheusMetrics } from '../../lib/metrics/index.js';
import { RecoveryGateway, WorkGate } from '../fixtures/recovery.gateway.js';
import { RecoveringClient } from '../helpers/recovery-node.js';
import type { TestClient } from '../helpers/ws-client.js';
import { eventually, parseExposition, startMetricsApp, valueOf, type MetricsApp, type Sample } from './metrics-app.js';

/**
 * Two nodes on one in-memory bus, recovery on, each with its own exporter:
 * the publish-to-receive lag on the receiving node, the cross-node
 * counters, and recovery attempts, successes and replayed messages after
 * real reconnects with `$recover`.
 */
describe('PrometheusMetrics across two nodes, with recovery', () => {
  let nodes: MetricsApp[] = [];
  const sockets: TestClient[] = [];

  beforeEach(() => WorkGate.reset());
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((client) => client.close()));
    await Promise.all(nodes.map((node) => node.close()));
    nodes = [];
  });

  async function twoNodes(): Promise<[MetricsApp, MetricsApp]> {
    const bus = new InMemoryBus();
    nodes = await Promise.all(
      [0, 1].map(() =>
        startMetricsApp(
          {
            broker: new InMemoryBroker(bus),
            recovery: { historySize: 10 },
            cluster: { heartbeatInterval: 100, nodeTimeout: 500 },
            metrics: new PrometheusMetrics({ registry: new Registry(), rooms: { allow: ['busy'] } }),
          },
          [RecoveryGateway],
        ),
      ),
    );
    return [nodes[0], nodes[1]];
  }

  async function member(node: MetricsApp, room: string): Promise<RecoveringClient> {
    const client = await RecoveringClient.connect(node.url('/live'));
    sockets.push(client.client);
    await client.client.request('join', room);
    await eventually(() => expect(client.positions.has(room)).toBe(true));
    return client;
  }

  async function scrape(node: MetricsApp): Promise<Sample[]> {
    return parseExposition((await node.get('/metrics')).body);
  }

  const gatewayOf = (node: MetricsApp): RecoveryGateway => node.app.get(RecoveryGateway);

  it('measures the broker lag of broadcasts from the other node, and counts them on both sides', async () => {
    const [a, b] = await twoNodes();
    await eventually(async () => expect(valueOf(await scrape(a), 'switchboard_cluster_nodes')).toBe(2));
    await member(a, 'busy');
    const listener = await member(b, 'busy');
    for (let n = 0; n < 5; n++) {
      gatewayOf(a).server.to('busy').emit('n', n);
    }
    await eventually(() => expect(listener.seen.get('busy')).toHaveLength(5));

    const [onA, onB] = await Promise.all([scrape(a), scrape(b)]);
    expect(valueOf(onB, 'switchboard_broker_lag_seconds_count')).toBe(5);
    expect(valueOf(onB, 'switchboard_broker_lag_seconds_bucket', { le: '+Inf' })).toBe(5);
    expect(valueOf(onB, 'switchboard_broker_lag_seconds_sum')).toBeGreaterThanOrEqual(0);
    expect(valueOf(onA, 'switchboard_broker_lag_seconds_count')).toBe(0); // Its own broadcasts are not lag.
    expect(valueOf(onA, 'switchboard_cluster_published_total')).toBe(5);
    expect(valueOf(onB, 'switchboard_cluster_received_total')).toBe(5);
    // Each node fanned the broadcasts out to its own member.
    expect(valueOf(onA, 'switchboard_broadcast_fanout_duration_seconds_count', { path: '/live', room: 'busy' })).toBe(5);
    expect(valueOf(onB, 'switchboard_broadcast_fanout_duration_seconds_count', { path: '/live', room: 'busy' })).toBe(5);
    expect(valueOf(onB, 'switchboard_broker_subscriptions')).toBeGreaterThan(0);
  });

  it('counts recovery attempts, successes and replayed messages per room of a $recover', async () => {
    const [a, b] = await twoNodes();
    await eventually(async () => expect(valueOf(await scrape(b), 'switchboard_cluster_nodes')).toBe(2));
    const client = await member(a, 'busy');
    await client.client.request('join', 'quiet');
    await eventually(() => expect(client.positions.has('quiet')).toBe(true));
    client.client.socket.terminate();
    await client.client.waitClose();
    // Three messages fit the history of 'busy'; 25 overflow that of 'quiet' (10): one room recovered, one not.
    for (let n = 0; n < 3; n++) {
      gatewayOf(a).server.to('busy').emit('n', n);
    }
    for (let n = 0; n < 25; n++) {
      gatewayOf(a).server.to('quiet').emit('n', n);
    }
    const answer = await client.reconnect(b.url('/live'));
    sockets.push(client.client);
    expect(answer.rooms.busy).toMatchObject({ recovered: true, replayed: 3 });
    expect(answer.rooms.quiet).toMatchObject({ recovered: false });

    const onB = await scrape(b);
    expect(valueOf(onB, 'switchboard_recovery_attempts_total', { path: '/live' })).toBe(2);
    expect(valueOf(onB, 'switchboard_recovery_successes_total', { path: '/live' })).toBe(1);
    expect(valueOf(onB, 'switchboard_recovery_replayed_messages_total', { path: '/live' })).toBe(3);
    expect(valueOf(await scrape(a), 'switchboard_recovery_attempts_total')).toBeUndefined(); // Recovered on b, not a.

    // The $recover is a handler like any other on the wire, but the library answers it itself: no handler series for it.
    expect(onB.filter((sample) => sample.labels.event === '$recover')).toEqual([]);
    // An unknown session is answered "expired" and counts no attempt.
    const stranger = await RecoveringClient.connect(b.url('/live'));
    sockets.push(stranger.client);
    expect((await stranger.client.request('$recover', { sid: 'nope', rooms: {} })).data).toEqual({ rooms: {}, session: 'expired' });
    expect(valueOf(await scrape(b), 'switchboard_recovery_attempts_total', { path: '/live' })).toBe(2);
  });
});

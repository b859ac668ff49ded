import type { ClusterStats } from '../hub/switchboard-hub.js';
import type { PathTotals } from './readings.js';

/**
 * Every metric both exporters publish, named once. `name` is the Prometheus
 * name after the prefix (`switchboard_` by default), `otel` the OpenTelemetry
 * instrument name after its prefix (`switchboard.`). Labels (attributes):
 * `path` (the gateway path as declared), `event` (a handler's event name),
 * `outcome` (`ok` or `error`), `code` (a close code, see LabelRules.code),
 * `room` (only through the exporter's `rooms` rule). Nothing else.
 */
export interface MetricDefinition {
  readonly name: string;
  readonly otel: string;
  readonly help: string;
  /** OpenTelemetry unit (UCUM): `s`, `By`, or a `{count}` annotation. */
  readonly unit: string;
}

/**
 * A per-gateway-path figure read from the gateway counters at collect time.
 * A `gauge` is a level that adds up across paths and nodes (an OpenTelemetry
 * up-down counter).
 */
export interface PathMetric extends MetricDefinition {
  readonly kind: 'counter' | 'gauge';
  readonly read: (totals: PathTotals) => number;
}

/** A per-node figure read from the hub's and the broker's counters at collect time. */
export interface NodeMetric extends MetricDefinition {
  readonly kind: 'counter' | 'gauge';
  /** A gauge whose values do not add up across nodes (an OpenTelemetry gauge, not an up-down counter). */
  readonly notAdditive?: true;
  readonly read: (stats: ClusterStats, nodes: number) => number;
}

export const PATH_METRICS: readonly PathMetric[] = [
  { name: 'connections', otel: 'connections', kind: 'gauge', unit: '{connection}', help: 'Open connections.', read: (t) => t.connections },
  { name: 'connections_opened_total', otel: 'connections.opened', kind: 'counter', unit: '{connection}', help: 'Connections opened.', read: (t) => t.connectionsOpened },
  { name: 'rooms', otel: 'rooms', kind: 'gauge', unit: '{room}', help: 'Rooms with members on this node.', read: (t) => t.rooms },
  { name: 'messages_received_total', otel: 'messages.received', kind: 'counter', unit: '{message}', help: 'Frames received from clients.', read: (t) => t.messagesReceived },
  { name: 'received_bytes_total', otel: 'received.bytes', kind: 'counter', unit: 'By', help: 'Payload bytes of the frames received.', read: (t) => t.bytesReceived },
  {
    name: 'messages_sent_total',
    otel: 'messages.sent',
    kind: 'counter',
    unit: '{message}',
    help: 'Frames written to clients: replies, acks, pushes and broadcast deliveries.',
    read: (t) => t.messagesSent,
  },
  { name: 'sent_bytes_total', otel: 'sent.bytes', kind: 'counter', unit: 'By', help: 'Payload bytes of the frames written.', read: (t) => t.bytesSent },
  { name: 'invalid_messages_total', otel: 'messages.invalid', kind: 'counter', unit: '{message}', help: 'Frames refused as undecodable or not a protocol message.', read: (t) => t.invalidMessages },
  { name: 'unknown_events_total', otel: 'messages.unknown_event', kind: 'counter', unit: '{message}', help: 'Messages for an event no handler has.', read: (t) => t.unknownEvents },
  { name: 'handler_errors_total', otel: 'handler.errors', kind: 'counter', unit: '{error}', help: 'Handlers that threw or rejected (guard denials included).', read: (t) => t.handlerErrors },
  { name: 'broadcasts_total', otel: 'broadcasts', kind: 'counter', unit: '{broadcast}', help: 'Broadcasts that reached this gateway (local or from other nodes).', read: (t) => t.broadcasts },
  { name: 'broadcast_deliveries_total', otel: 'broadcast.deliveries', kind: 'counter', unit: '{message}', help: 'Frames written by broadcasts.', read: (t) => t.deliveries },
  {
    name: 'slow_consumer_skips_total',
    otel: 'slow_consumer.skips',
    kind: 'counter',
    unit: '{message}',
    help: 'Broadcast deliveries skipped because the recipient was a slow consumer.',
    read: (t) => t.slowConsumerSkips,
  },
  { name: 'slow_consumer_closes_total', otel: 'slow_consumer.closes', kind: 'counter', unit: '{connection}', help: 'Slow consumers closed (1013).', read: (t) => t.slowConsumerCloses },
  {
    name: 'closed_recipient_skips_total',
    otel: 'broadcast.closed_recipient_skips',
    kind: 'counter',
    unit: '{message}',
    help: 'Broadcast deliveries skipped because the recipient socket was no longer open.',
    read: (t) => t.skippedDeliveries,
  },
  {
    name: 'heartbeat_timeouts_total',
    otel: 'heartbeat.timeouts',
    kind: 'counter',
    unit: '{connection}',
    help: 'Connections terminated by the heartbeat (no pong in time).',
    read: (t) => t.heartbeatTimeouts,
  },
  { name: 'rate_limited_messages_total', otel: 'rate_limit.messages', kind: 'counter', unit: '{message}', help: 'Messages refused by the rate limit.', read: (t) => t.rateLimited },
  { name: 'rate_limit_closes_total', otel: 'rate_limit.closes', kind: 'counter', unit: '{connection}', help: 'Connections closed by the rate limit (1008).', read: (t) => t.rateLimitCloses },
  { name: 'server_requests_total', otel: 'server_requests', kind: 'counter', unit: '{request}', help: 'Server-to-client requests sent.', read: (t) => t.requestsSent },
  { name: 'server_request_timeouts_total', otel: 'server_requests.timeouts', kind: 'counter', unit: '{request}', help: 'Server-to-client requests that timed out.', read: (t) => t.requestsTimedOut },
  { name: 'upgrades_refused_total', otel: 'upgrades.refused', kind: 'counter', unit: '{upgrade}', help: 'Upgrades refused (connection caps, handshake authentication).', read: (t) => t.upgradesRefused },
  { name: 'auth_failures_total', otel: 'auth.failures', kind: 'counter', unit: '{upgrade}', help: 'Handshakes refused by authentication.', read: (t) => t.authFailures },
];

export const NODE_METRICS: readonly NodeMetric[] = [
  { name: 'cluster_nodes', otel: 'cluster.nodes', kind: 'gauge', notAdditive: true, unit: '{node}', help: 'Nodes alive by their heartbeats, this one included.', read: (_, nodes) => nodes },
  { name: 'cluster_channels', otel: 'cluster.channels', kind: 'gauge', unit: '{channel}', help: 'Broker channels this node listens on.', read: (s) => s.channels },
  { name: 'cluster_published_total', otel: 'cluster.published', kind: 'counter', unit: '{broadcast}', help: 'Broadcasts this node sent to other nodes.', read: (s) => s.published },
  { name: 'cluster_received_total', otel: 'cluster.received', kind: 'counter', unit: '{broadcast}', help: 'Broadcasts received from other nodes and delivered here.', read: (s) => s.received },
  { name: 'cluster_publish_failures_total', otel: 'cluster.publish_failures', kind: 'counter', unit: '{broadcast}', help: 'Broadcasts the broker refused (the other nodes missed them).', read: (s) => s.publishFailures },
  { name: 'broker_reconnects_total', otel: 'broker.reconnects', kind: 'counter', unit: '{reconnect}', help: 'Times the connection to the broker engine was lost and re-established.', read: (s) => s.broker.reconnects },
  {
    name: 'broker_resubscribe_commands_total',
    otel: 'broker.resubscribe_commands',
    kind: 'counter',
    unit: '{command}',
    help: 'Subscribe commands sent to restore subscriptions after reconnects.',
    read: (s) => s.broker.resubscribeCommands,
  },
  {
    name: 'broker_publish_dropped_total',
    otel: 'broker.publish_dropped',
    kind: 'counter',
    unit: '{payload}',
    help: 'Payloads dropped while the broker engine was unreachable and the buffer full.',
    read: (s) => s.broker.publishDropped,
  },
  { name: 'broker_publish_buffered', otel: 'broker.publish_buffered', kind: 'gauge', unit: '{payload}', help: 'Payloads waiting for the broker engine now.', read: (s) => s.broker.publishBuffered },
  { name: 'broker_subscriptions', otel: 'broker.subscriptions', kind: 'gauge', unit: '{channel}', help: 'Channels subscribed on the broker now.', read: (s) => s.broker.subscriptions },
];

/** Counters fed by the hooks (they carry a label the gateway counters cannot). */
export const CLOSES: MetricDefinition = {
  name: 'connections_closed_total',
  otel: 'connections.closed',
  unit: '{connection}',
  help: 'Connections closed, by close code (1000-1015 as themselves, 3000-4999 by class unless listed in closeCodes).',
};
export const RECOVERY_ATTEMPTS: MetricDefinition = {
  name: 'recovery_attempts_total',
  otel: 'recovery.attempts',
  unit: '{room}',
  help: 'Rooms a $recover tried to restore (one per room of a known session).',
};
export const RECOVERY_SUCCESSES: MetricDefinition = {
  name: 'recovery_successes_total',
  otel: 'recovery.successes',
  unit: '{room}',
  help: 'Rooms restored with everything missed (recovered: true).',
};
export const RECOVERY_REPLAYED: MetricDefinition = {
  name: 'recovery_replayed_messages_total',
  otel: 'recovery.replayed_messages',
  unit: '{message}',
  help: 'Messages replayed by recoveries.',
};

/** The histograms, the only metrics the hot path pays for. */
export const HANDLER_DURATION: MetricDefinition = {
  name: 'handler_duration_seconds',
  otel: 'handler.duration',
  unit: 's',
  help: "Seconds from a handler's start (its message read and decoded; under ordered dispatch, its turn) to its answer written: for a message with an id, the server-side ack latency.",
};
export const FANOUT_DURATION: MetricDefinition = {
  name: 'broadcast_fanout_duration_seconds',
  otel: 'broadcast.fanout.duration',
  unit: 's',
  help: "Seconds one broadcast took to be written to this node's recipients (broadcasts with none are not observed).",
};
export const BROKER_LAG: MetricDefinition = {
  name: 'broker_lag_seconds',
  otel: 'broker.lag',
  unit: 's',
  help: 'Seconds from another node publishing a broadcast to this node receiving it (wall clocks of both nodes; skew shows here).',
};

/** Default buckets (seconds). Handlers: sub-millisecond to 10 s; fan-outs: 50 µs to 250 ms; broker lag: 0.5 ms to 5 s. */
export const DEFAULT_BUCKETS = {
  handler: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  fanOut: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  brokerLag: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
} as const;

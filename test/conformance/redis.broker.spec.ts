/**
 * The Redis broker against the broker conformance suite, on real
 * redis-server processes started here (free ports, stopped by pid):
 * classic PUBLISH/SUBSCRIBE and sharded SPUBLISH/SSUBSCRIBE on one
 * standalone server, and sharded pub/sub on a Redis Cluster of 3 masters.
 * Each cluster of brokers the suite makes gets a prefix of its own, so no
 * test hears another's traffic; its teardown checks that Redis itself has
 * no subscription left under that prefix once the suite detached every
 * broker (detach forgets every subscription, at the engine too).
 */
import { RedisBroker, type RedisBrokerOptions } from '../../lib/redis/index.js';
import { RedisClusterProcesses, RedisProcess } from '../helpers/redis-server.js';
import { brokerConformance, type BrokerCluster, type KnownGap } from './broker.suite.js';

/**
 * What RedisBroker fails today (lib/redis/redis.broker.ts), run as `it.failing` so each stays
 * visible and fails the run once it is fixed:
 */
const LONE_SURROGATES =
  // keyOf() passes the hub's channel name to ioredis as a JS string, which writes it as UTF-8: a lone
  // surrogate becomes U+FFFD. So '\ud800' and '\udbff' (and '\ufffd' itself) are one Redis channel, and
  // onMessage, looking the channel Redis reports up in `wanted`, finds no '\ufffd' key for '\ud800':
  // the listener gets nothing (0 of 3), and the broker subscribed to the U+FFFD decoys gets the payloads
  // published on the lone-surrogate channels. Through the hub: broadcasts to such a room never reach
  // other nodes (nodes with a member of the U+FFFD room receive copies and drop them).
  'channel names that are not well-formed UTF-16 (lone surrogates, as JSON can carry in a room name) stay distinct and route exactly';
const THROWING_RECEIVER: KnownGap = {
  // onMessage calls the receiver inside ioredis' 'messageBuffer'/'smessageBuffer' emit, unguarded: the
  // throw escapes the socket's data handler as an uncaught exception (a crash outside Jest), and on a
  // standalone server the rest of the payloads parsed from the same socket read are lost to that broker
  // (it got 1 of 3). Not run: Jest charges an uncaught exception to the test even under it.failing.
  title: 'a receiver that throws disturbs neither the publisher, nor the other brokers, nor its own later deliveries',
  skip: "the receiver's throw escapes RedisBroker as an uncaught exception",
};
const REATTACH_COUNTED_AS_RECONNECT =
  // detach() does not reset `everReady`: after detach and attach, the first 'ready' of the new
  // subscriber connection counts as a reconnect (reconnects: 1 on a link that never failed).
  'stats() counts as documented: published, dropped before attach, received as the receiver was called, subscriptions now, no reconnect on a healthy link';
const CLUSTER_REORDERS_AFTER_ATTACH =
  // The publisher's Cluster has enableOfflineQueue: false, and ioredis connects the connection to each
  // master lazily, on its first command. SPUBLISHes to a master whose connection is still connecting
  // are rejected (Connection is closed), retried by ioredis after retryDelayOnFailover (100 ms) on a
  // random master, and redirected by MOVED; the later ones went straight through, so a publisher's
  // payloads on one channel arrive out of order (e.g. 0, 1, 8, 16, 20, ...) right after attach.
  "3 publishers x 3,000 payloads on each of four channels, right after attach: each publisher's payloads arrive in order per channel";

const options = { settleMs: 50, deliveryTimeoutMs: 5000 };
// Fixed in lib (kept above as the record of what the suite caught): lone surrogates are encoded,
// a throwing receiver is caught, detach resets the reconnect count, the cluster publisher queues in order.
void [LONE_SURROGATES, THROWING_RECEIVER, REATTACH_COUNTED_AS_RECONNECT, CLUSTER_REORDERS_AFTER_ATTACH];
const standaloneGaps: KnownGap[] = [];
const clusterGaps: KnownGap[] = [];
let prefixes = 0;

/** Polls Redis until no channel is subscribed under `prefix`; fails with the count left. */
async function noChannelLeft(count: () => Promise<number>, prefix: string): Promise<void> {
  const deadline = Date.now() + 2000;
  let left = await count();
  while (left !== 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = await count();
  }
  if (left !== 0) {
    throw new Error(`${left} Redis channel(s) under ${prefix} still subscribed after every broker detached`);
  }
}

function brokers(n: number, make: (prefix: string) => RedisBrokerOptions, count: (pattern: string) => Promise<number>): BrokerCluster {
  const prefix = `sbc${process.pid}-${++prefixes}:`;
  return {
    brokers: Array.from({ length: n }, () => new RedisBroker(make(prefix))),
    teardown: () => noChannelLeft(() => count(`${prefix}*`), prefix),
  };
}

describe('RedisBroker on one standalone redis-server', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  for (const pubsub of ['classic', 'sharded'] as const) {
    brokerConformance(
      `RedisBroker, standalone, ${pubsub} pub/sub`,
      (n) =>
        brokers(
          n,
          (prefix) => ({ redis: redis.url, pubsub, prefix }),
          (pattern) => redis.channelCount(pubsub === 'sharded', pattern),
        ),
      { ...options, knownGaps: standaloneGaps },
    );
  }
});

describe('RedisBroker on a Redis Cluster of 3 masters', () => {
  let cluster: RedisClusterProcesses;

  beforeAll(async () => {
    cluster = await RedisClusterProcesses.start();
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  brokerConformance(
    'RedisBroker, Redis Cluster, sharded pub/sub',
    (n) =>
      brokers(
        n,
        (prefix) => ({ cluster: { nodes: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) }, prefix }),
        (pattern) => cluster.shardChannelCount(pattern),
      ),
    { ...options, knownGaps: clusterGaps },
  );
});

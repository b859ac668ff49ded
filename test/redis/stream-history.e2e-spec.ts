/**
 * RedisStreamHistory (`RedisBroker.history`) against the stream history
 * conformance suite, on real redis-server processes started here on free
 * ports and stopped by pid: classic PUBLISH and sharded SPUBLISH on one
 * standalone server, and sharded pub/sub on a Redis Cluster of 3 masters
 * (where the append script's keys and its shard channel must share a slot).
 * The crash drill (kill -9, restart) runs on servers of its own. Plus the
 * Redis side itself: the key names, their slot and their expiry.
 */
import { RedisBroker, type RedisBrokerOptions } from '../../lib/redis/index.js';
import { roomChannel } from '../../lib/index.js';
import { RedisClusterProcesses, RedisProcess } from '../helpers/redis-server.js';
import { streamHistoryConformance, type HistoryCluster, type OutageCluster } from '../conformance/stream-history.suite.js';

/** Commands that are no history operation (the test's own INFO, ioredis' slot refreshes and handshakes). */
const NOT_COUNTED = new Set(['info', 'cluster', 'ping', 'command', 'client', 'hello', 'select', 'readonly']);

/** Data commands one server has run so far, by INFO commandstats (commands a script calls count too). */
async function commandsOf(redis: RedisProcess): Promise<number> {
  const info = await redis.command('INFO', 'commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!NOT_COUNTED.has(match[1].split('|')[0])) {
      total += Number(match[2]);
    }
  }
  return total;
}

const engineCommands = (servers: () => readonly RedisProcess[]) => async (): Promise<number> => {
  const counts = await Promise.all(servers().map(commandsOf));
  return counts.reduce((sum, count) => sum + count, 0);
};

let prefixes = 0;
const freshPrefix = (): string => `sbh${process.pid}-${++prefixes}:`;

function brokers(n: number, make: (prefix: string) => RedisBrokerOptions, servers: () => readonly RedisProcess[]): HistoryCluster {
  const prefix = freshPrefix();
  return { brokers: Array.from({ length: n }, () => new RedisBroker(make(prefix))), engineCommands: engineCommands(servers) };
}

const OUTAGE = { maxBuffered: 50, historyWaitMs: 3000 };

/** Two brokers on a redis-server of their own, for kill -9. */
async function standaloneOutage(pubsub: 'classic' | 'sharded'): Promise<OutageCluster> {
  const redis = await RedisProcess.start();
  const prefix = freshPrefix();
  return {
    brokers: [0, 1].map(() => new RedisBroker({ redis: redis.url, pubsub, prefix, ...OUTAGE })),
    kill: () => redis.kill(),
    restart: () => redis.restart(),
    teardown: () => redis.stop(),
    maxBuffered: OUTAGE.maxBuffered,
    waitMs: OUTAGE.historyWaitMs,
  };
}

const seeds = (cluster: RedisClusterProcesses): Array<{ host: string; port: number }> => cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));

/** Two brokers on a Redis Cluster of their own; the drill kills every master (kill -9) and restarts them (they keep nodes.conf). */
async function clusterOutage(): Promise<OutageCluster> {
  const cluster = await RedisClusterProcesses.start();
  const prefix = freshPrefix();
  return {
    brokers: [0, 1].map(() => new RedisBroker({ cluster: { nodes: seeds(cluster) }, prefix, ...OUTAGE })),
    kill: () => cluster.nodes.forEach((node) => node.kill()),
    restart: async () => {
      await Promise.all(cluster.nodes.map((node) => node.restart()));
    },
    teardown: () => cluster.stop(),
    maxBuffered: OUTAGE.maxBuffered,
    waitMs: OUTAGE.historyWaitMs,
  };
}

describe('RedisStreamHistory on one standalone redis-server', () => {
  let redis: RedisProcess;

  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  for (const pubsub of ['classic', 'sharded'] as const) {
    streamHistoryConformance(
      `RedisStreamHistory, standalone, ${pubsub} pub/sub`,
      (n) => brokers(n, (prefix) => ({ redis: redis.url, pubsub, prefix }), () => [redis]),
      { outage: () => standaloneOutage(pubsub) },
    );
  }

  it('keeps a room in three keys under the prefix with the partition hash tag of its sharded channel, expiring ttl after the last append, and a session in one', async () => {
    const prefix = freshPrefix();
    const broker = new RedisBroker({ redis: redis.url, prefix });
    await broker.attach(() => undefined);
    try {
      const channel = roomChannel('/keys', 'lobby');
      await broker.history.append(channel, Buffer.from('hello'), { size: 10, ttl: 5000 });
      await broker.history.saveSession('abc', { rooms: ['lobby'], socketIds: ['s1'] }, 5000);
      const reply = await redis.command('KEYS', `${prefix}*`);
      const keys = [...reply.matchAll(/^\$\d+\r\n(.*)$/gm)].map((match) => match[1]).sort();
      expect(keys).toHaveLength(4);
      const tag = /hist:(\{\d+\}):/.exec(keys[0])?.[1];
      expect(tag).toMatch(/^\{\d+\}$/);
      const name = `r\u0000/keys\u0000lobby`;
      expect(keys).toEqual([`${prefix}hist:${tag}:epoch:${name}`, `${prefix}hist:${tag}:offset:${name}`, `${prefix}hist:${tag}:stream:${name}`, `${prefix}sess:abc`].sort());
      for (const key of keys) {
        const ttl = Number(/:(-?\d+)/.exec(await redis.command('PTTL', key))?.[1]);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(5000);
      }
      // The same tag as the broker's sharded channel of that room.
      const sharded = new RedisBroker({ redis: redis.url, prefix, pubsub: 'sharded' });
      await sharded.attach(() => undefined);
      await sharded.subscribe([channel]);
      const shardChannels = await redis.command('PUBSUB', 'SHARDCHANNELS', `${prefix}*`);
      expect(shardChannels).toContain(`${prefix}${tag}${name}`);
      await sharded.detach();
    } finally {
      await broker.detach();
    }
  });
});

describe('RedisStreamHistory on a Redis Cluster of 3 masters', () => {
  let cluster: RedisClusterProcesses;

  beforeAll(async () => {
    cluster = await RedisClusterProcesses.start();
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  streamHistoryConformance(
    'RedisStreamHistory, Redis Cluster, sharded pub/sub',
    (n) => brokers(n, (prefix) => ({ cluster: { nodes: seeds(cluster) }, prefix }), () => cluster.nodes),
    { outage: clusterOutage },
  );
});

import { describeClusterOperations } from '../helpers/cluster-scenarios.js';
import { Test } from '@nestjs/testing';
import { Broadcaster, SwitchboardModule } from '../../lib/index.js';
import { RedisBroker, type RedisBrokerOptions } from '../../lib/redis/index.js';
import { RedisClusterProcesses, RedisProcess } from '../helpers/redis-server.js';
import { eventsOf, expectBoundedPublishingWhileDown, expectInterestRouting, expectNoJoinRace, startRoomsNode, type RoomsNode } from '../helpers/scale-out.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from '../integration/drop-in.suite.js';

type Node = RoomsNode<RedisBroker>;

const startNode = (options: RedisBrokerOptions): Promise<Node> => startRoomsNode(new RedisBroker(options));

describe.each([
  ['classic PUBLISH/SUBSCRIBE', 'classic' as const],
  ['sharded SPUBLISH/SSUBSCRIBE', 'sharded' as const],
])('Redis broker, standalone Redis, %s', (_label, pubsub) => {
  let redis: RedisProcess;
  let nodes: Node[];
  const clients: TestClient[] = [];

  async function connect(node: Node): Promise<TestClient> {
    const client = await TestClient.connect(node.url);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    redis = await RedisProcess.start();
    nodes = await Promise.all([0, 1, 2].map(() => startNode({ redis: redis.url, pubsub })));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
    await redis.stop();
  });

  it('routes by interest: room, multi-room, except and client-id broadcasts reach exactly the nodes with recipients, once each', async () => {
    await expectInterestRouting(nodes, connect);
  });

  it('resolves join only once Redis confirmed it: 1,000 publishes right after the join ack, 0 misses', async () => {
    await expectNoJoinRace(nodes, connect, `race-${pubsub}`);
  }, 60_000);

  it('batches subscriptions: a client joining 2,000 rooms costs a handful of commands and Redis lists them all', async () => {
    const member = await connect(nodes[0]);
    const rooms = Array.from({ length: 2000 }, (_, i) => `batch-${i}`);
    await member.request('join', rooms);
    const listed = await redis.channelCount(pubsub === 'sharded', 'sb:*batch-*');
    expect(listed).toBe(2000);
    expect(nodes[0].broker.stats().subscriptions).toBeGreaterThanOrEqual(2000);
  });
});

describe('Redis broker survives kill -9 of redis-server', () => {
  it('never throws or hangs while Redis is down, buffers within its bound, restores 10,000 rooms in at most 20 commands within 2 s, and counts losses', async () => {
    const redis = await RedisProcess.start();
    const a = await startNode({ redis: redis.url, maxBuffered: 50 });
    const b = await startNode({ redis: redis.url, maxBuffered: 50 });
    const member = await TestClient.connect(a.url);
    try {
      const rooms = Array.from({ length: 10_000 }, (_, i) => `drill-${i}`);
      await member.request('join', rooms);
      expect(await redis.channelCount(false, 'sb:r*drill-*')).toBe(10_000);

      await expectBoundedPublishingWhileDown(b, () => redis.kill());

      await new Promise((resolve) => setTimeout(resolve, 5000));
      const reconnectsBefore = a.broker.stats().reconnects;
      const commandsBefore = a.broker.stats().resubscribeCommands;
      await redis.restart();
      const restarted = Date.now();
      await waitUntil(() => a.broker.stats().reconnects > reconnectsBefore, 3000);
      let restored = 0;
      while (Date.now() - restarted < 2000) {
        restored = await redis.channelCount(false, 'sb:r*drill-*');
        if (restored === 10_000) {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(restored).toBe(10_000);
      expect(Date.now() - restarted).toBeLessThan(2000);
      expect(a.broker.stats().resubscribeCommands - commandsBefore).toBeLessThanOrEqual(20);

      // Traffic flows again, and the buffered broadcasts were published after the restart.
      await waitUntil(() => b.broker.stats().publishBuffered === 0, 3000);
      b.news.publish('drill-9999', 'after');
      await member.waitFor((value: { event?: string; data?: unknown }) => value?.event === 'news' && value.data === 'after', 3000);
    } finally {
      await member.close();
      await a.app.close();
      await b.app.close();
      await redis.stop();
    }
  }, 30_000);
});

describe('Redis broker on a Redis Cluster (3 masters, sharded pub/sub)', () => {
  let cluster: RedisClusterProcesses;
  let nodes: Node[];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cluster = await RedisClusterProcesses.start();
    const seeds = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
    nodes = await Promise.all([0, 1].map(() => startNode({ cluster: { nodes: seeds } })));
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(nodes.map((node) => node.app.close()));
    await cluster.stop();
  });

  it('delivers room broadcasts across nodes through the shards, once, with confirmed joins', async () => {
    const [a, b] = nodes;
    const member = await TestClient.connect(a.url);
    clients.push(member);
    const rooms = Array.from({ length: 200 }, (_, i) => `cluster-${i}`);
    await member.request('join', rooms);
    // The channels spread over the shards; every one is subscribed somewhere.
    expect(await cluster.shardChannelCount('sb:*cluster-*')).toBe(200);
    for (const room of rooms.slice(0, 50)) {
      b.news.publish(room, room);
    }
    await waitUntil(() => eventsOf(member, 'news').length === 50, 5000);
    // Rooms live on different shards: order holds per room, not across rooms.
    expect((eventsOf(member, 'news') as string[]).sort()).toEqual(rooms.slice(0, 50).sort());
    expect(a.stats().receivedWithoutRecipient).toBe(0);
  });
});

describe('a worker without gateways publishes through the Broadcaster', () => {
  it('reaches clients of the gateway nodes over Redis', async () => {
    const redis = await RedisProcess.start();
    const gatewayNode = await startNode({ redis: redis.url });
    const workerModule = await Test.createTestingModule({ imports: [SwitchboardModule.forRoot({ broker: new RedisBroker({ redis: redis.url }) })] }).compile();
    const worker = workerModule.createNestApplication({ logger: false });
    await worker.init(); // No HTTP server, no adapter, no gateway: a queue consumer, a cron job.
    const member = await TestClient.connect(gatewayNode.url);
    try {
      await member.request('join', 'orders');
      const reached = worker.get(Broadcaster).of('/rooms').to('orders').emit('order', { id: 7 });
      expect(reached).toBe(0); // Nobody local to the worker.
      await member.waitFor((value: { event?: string; data?: unknown }) => value?.event === 'order', 3000);
      expect(eventsOf(member, 'order')).toEqual([{ id: 7 }]);
    } finally {
      await member.close();
      await worker.close();
      await gatewayNode.app.close();
      await redis.stop();
    }
  });
});

describeClusterOperations('Redis', () => RedisProcess.start(), (url) => new RedisBroker({ redis: url }));

import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Broadcaster, SwitchboardAdapter, SwitchboardModule, type ClusterStats } from '../../lib/index.js';
import { RedisBroker, type RedisBrokerOptions } from '../../lib/redis/index.js';
import { SwitchboardHub } from '../../lib/hub/switchboard-hub.js';
import { NewsService, RoomsGateway } from '../fixtures/rooms.gateway.js';
import { RedisClusterProcesses, RedisProcess } from '../helpers/redis-server.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from '../integration/drop-in.suite.js';

interface Node {
  app: INestApplication;
  url: string;
  broker: RedisBroker;
  stats(): ClusterStats;
  news: NewsService;
}

async function startNode(options: RedisBrokerOptions): Promise<Node> {
  const broker = new RedisBroker(options);
  const moduleRef = await Test.createTestingModule({
    imports: [SwitchboardModule.forRoot({ broker })],
    providers: [RoomsGateway, NewsService],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(new SwitchboardAdapter(app));
  await app.listen(0, '127.0.0.1');
  const hub = app.get(SwitchboardHub);
  return {
    app,
    url: `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/rooms`,
    broker,
    stats: () => hub.stats(),
    news: app.get(NewsService),
  };
}

/** Frames of one event a client got, decoded. */
function eventsOf(client: TestClient, event: string): unknown[] {
  return client.rawFrames
    .map((frame) => JSON.parse(frame.data.toString()) as { event?: string; data?: unknown })
    .filter((value) => value.event === event)
    .map((value) => value.data);
}

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
    const [a, b, c] = nodes;
    const inRed = await connect(a);
    const inBoth = await connect(b);
    const inBlue = await connect(c);
    const nowhere = await connect(c);
    await inRed.request('join', 'red');
    await inBoth.request('join', ['red', 'blue']);
    await inBlue.request('join', 'blue');
    const before = nodes.map((node) => node.stats());

    // From node C, which has a member of blue only.
    c.app.get(RoomsGateway).server.to(['red', 'blue']).emit('multi', 1);
    c.app.get(RoomsGateway).server.to('red').except('blue').emit('red-not-blue', 2);
    const bothId = await inBoth.request('whoami', null);
    c.app.get(RoomsGateway).server.toClient(bothId.data as string).emit('direct', 3);

    await waitUntil(() => eventsOf(inBoth, 'direct').length === 1 && eventsOf(inRed, 'red-not-blue').length === 1, 3000);
    await new Promise((resolve) => setTimeout(resolve, 100)); // Duplicates, if any, would arrive by now.
    expect(eventsOf(inRed, 'multi')).toEqual([1]);
    expect(eventsOf(inBoth, 'multi')).toEqual([1]); // In both rooms, on another node: once.
    expect(eventsOf(inBlue, 'multi')).toEqual([1]);
    expect(eventsOf(inRed, 'red-not-blue')).toEqual([2]);
    expect(eventsOf(inBoth, 'red-not-blue')).toEqual([]);
    expect(eventsOf(inBoth, 'direct')).toEqual([3]);
    expect(nowhere.rawFrames).toHaveLength(0);

    const after = nodes.map((node) => node.stats());
    // No node received a broadcast it had nobody for.
    expect(after.map((stats, i) => stats.receivedWithoutRecipient - before[i].receivedWithoutRecipient)).toEqual([0, 0, 0]);
    // B's red member was excluded by blue: filtered on B, where membership is known.
    expect(after.map((stats, i) => stats.receivedAllExcluded - before[i].receivedAllExcluded)).toEqual([0, 1, 0]);
    // A got the multi-room and the red broadcasts; B all three (one per broadcast, copies deduplicated).
    expect(after[0].received - before[0].received).toBe(2);
    expect(after[1].received - before[1].received).toBe(3);
  });

  it('resolves join only once Redis confirmed it: 1,000 publishes right after the join ack, 0 misses', async () => {
    const [a, b] = nodes;
    const member = await connect(a);
    let misses = 0;
    for (let i = 0; i < 1000; i++) {
      const room = `race-${pubsub}-${i}`;
      await member.request('join', room, `j${i}`);
      b.news.publish(room, `n${i}`);
      try {
        await member.waitFor((value: { event?: string; data?: unknown }) => value?.event === 'news' && value.data === `n${i}`, 1000);
      } catch {
        misses++;
      }
      member.send({ event: 'leave', data: room });
    }
    expect(misses).toBe(0);
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

      redis.kill();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Mid-outage broadcasts: returned at once, never thrown.
      const started = Date.now();
      for (let i = 0; i < 200; i++) {
        expect(() => b.news.publish(`drill-${i % 10}`, `lost-or-late-${i}`)).not.toThrow();
      }
      expect(Date.now() - started).toBeLessThan(200);
      const outage = b.broker.stats();
      expect(outage.publishBuffered).toBeLessThanOrEqual(50);
      expect(outage.publishDropped).toBeGreaterThanOrEqual(150);

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

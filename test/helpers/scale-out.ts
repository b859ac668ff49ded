import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SwitchboardAdapter, SwitchboardModule, type Broker, type ClusterOptions, type ClusterStats } from '../../lib/index.js';
import { SwitchboardHub } from '../../lib/hub/switchboard-hub.js';
import { NewsService, RoomsGateway } from '../fixtures/rooms.gateway.js';
import { waitUntil } from '../integration/drop-in.suite.js';
import { TestClient } from './ws-client.js';

/**
 * The scale-out scenarios every networked broker runs the same way (test/redis, test/nats): app nodes
 * with the rooms gateway on one engine, real `ws` clients on 127.0.0.1.
 */
export interface RoomsNode<B extends Broker = Broker> {
  app: INestApplication;
  url: string;
  broker: B;
  stats(): ClusterStats;
  news: NewsService;
}

/** A Nest app with the rooms gateway, listening on a free port, with `broker` between it and the other nodes. */
export async function startRoomsNode<B extends Broker>(broker: B, cluster?: ClusterOptions): Promise<RoomsNode<B>> {
  const moduleRef = await Test.createTestingModule({
    imports: [SwitchboardModule.forRoot({ broker, cluster })],
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
export function eventsOf(client: TestClient, event: string): unknown[] {
  return client.rawFrames
    .map((frame) => JSON.parse(frame.data.toString()) as { event?: string; data?: unknown })
    .filter((value) => value.event === event)
    .map((value) => value.data);
}

/**
 * Interest routing across three nodes: room, multi-room, except and client-id broadcasts from node C
 * reach exactly the nodes with recipients, each client once; no node receives what it has nobody for.
 * Returns the per-node stats deltas for engine-specific checks.
 */
export async function expectInterestRouting<N extends RoomsNode>(nodes: readonly N[], connect: (node: N) => Promise<TestClient>): Promise<ClusterStats[]> {
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
  const server = c.app.get(RoomsGateway).server;
  server.to(['red', 'blue']).emit('multi', 1);
  server.to('red').except('blue').emit('red-not-blue', 2);
  const bothId = await inBoth.request('whoami', null);
  server.toClient(bothId.data as string).emit('direct', 3);

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
  const delta = (key: 'received' | 'receivedWithoutRecipient' | 'receivedAllExcluded'): number[] => after.map((stats, i) => stats[key] - before[i][key]);
  // No node received a broadcast it had nobody for.
  expect(delta('receivedWithoutRecipient')).toEqual([0, 0, 0]);
  // B's red member was excluded by blue: filtered on B, where membership is known.
  expect(delta('receivedAllExcluded')).toEqual([0, 1, 0]);
  // A got the multi-room and the red broadcasts; B all three (one per broadcast, copies deduplicated).
  expect(delta('received').slice(0, 2)).toEqual([2, 3]);
  return after;
}

/** No join race: a publish from node B right after the join ack on node A, 1,000 times, must arrive every time. */
export async function expectNoJoinRace<N extends RoomsNode>(nodes: readonly N[], connect: (node: N) => Promise<TestClient>, roomPrefix: string): Promise<void> {
  const [a, b] = nodes;
  const member = await connect(a);
  let misses = 0;
  for (let i = 0; i < 1000; i++) {
    const room = `${roomPrefix}-${i}`;
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
}

/**
 * The middle of a kill -9 drill: the engine is down (`kill` was called); 200 broadcasts from `publisher`
 * must return at once, never throw, and stay within the broker's buffer of 50, the rest counted as drops.
 */
export async function expectBoundedPublishingWhileDown(publisher: RoomsNode, kill: () => void): Promise<void> {
  kill();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  for (let i = 0; i < 200; i++) {
    expect(() => publisher.news.publish(`drill-${i % 10}`, `lost-or-late-${i}`)).not.toThrow();
  }
  expect(Date.now() - started).toBeLessThan(200);
  const outage = publisher.broker.stats();
  expect(outage.publishBuffered).toBeLessThanOrEqual(50);
  expect(outage.publishDropped).toBeGreaterThanOrEqual(150);
}

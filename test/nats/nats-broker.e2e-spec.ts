import { describeClusterOperations } from '../helpers/cluster-scenarios.js';
import { NatsBroker, channelOfSubject, type NatsBrokerOptions } from '../../lib/nats/index.js';
import { roomChannel } from '../../lib/broker/channel.js';
import { NatsProcess } from '../helpers/nats-server.js';
import { eventsOf, expectBoundedPublishingWhileDown, expectInterestRouting, expectNoJoinRace, startRoomsNode, type RoomsNode } from '../helpers/scale-out.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from '../integration/drop-in.suite.js';

type Node = RoomsNode<NatsBroker>;

const startNode = (options: NatsBrokerOptions): Promise<Node> => startRoomsNode(new NatsBroker(options));

/** How many client subscriptions on the server are room channels of the rooms gateway whose room starts with `roomPrefix`. */
async function roomSubscriptions(nats: NatsProcess, roomPrefix: string): Promise<number> {
  const subjects = await nats.clientSubjects();
  return subjects.filter((subject) => channelOfSubject('sb', subject)?.startsWith(roomChannel('/rooms', roomPrefix)) === true).length;
}

describe('NATS broker across 3 nodes', () => {
  let nats: NatsProcess;
  let nodes: Node[];
  const clients: TestClient[] = [];

  async function connect(node: Node): Promise<TestClient> {
    const client = await TestClient.connect(node.url);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    nats = await NatsProcess.start();
    nodes = await Promise.all([0, 1, 2].map(() => startNode({ servers: nats.url })));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
    await nats.stop();
  });

  it('routes by interest: room, multi-room, except and client-id broadcasts reach exactly the nodes with recipients, once each, and never echo', async () => {
    const after = await expectInterestRouting(nodes, connect);
    // noEcho: the server never sent a node its own publications back.
    expect(after.map((stats) => stats.ownEchoes)).toEqual([0, 0, 0]);
  });

  it('resolves join only once the server registered the subscription: 1,000 publishes right after the join ack, 0 misses', async () => {
    await expectNoJoinRace(nodes, connect, 'race');
  }, 60_000);

  it('maps any room text to a valid subject: dots, wildcards, spaces, NUL, unicode and a 5,000-character name cross nodes', async () => {
    const [a, b] = nodes;
    const member = await connect(a);
    const rooms = ['a.b.c', 'news.*', 'feed.>', 'with space', 'tab\tand\nnewline', 'nul\u0000inside', 'ünïcødé 房间 🚀', '>', '*', '.', 'x'.repeat(5000)];
    await member.request('join', rooms);
    for (const room of rooms) {
      b.news.publish(room, `to ${room.slice(0, 20)}`);
    }
    await waitUntil(() => eventsOf(member, 'news').length === rooms.length, 3000);
    expect((eventsOf(member, 'news') as string[]).sort()).toEqual(rooms.map((room) => `to ${room.slice(0, 20)}`).sort());
    // The server holds one subject per room, each a single valid token after the prefix.
    const subjects = await nats.clientSubjects();
    const ours = subjects.filter((subject) => {
      const channel = channelOfSubject('sb', subject);
      return channel !== undefined && rooms.some((room) => channel === roomChannel('/rooms', room));
    });
    expect(ours).toHaveLength(rooms.length - 1); // The long one is hashed (subjects stay under 1,024 bytes).
    expect(subjects.every((subject) => /^sb\.[^\s.*>\u0000]+$/.test(subject))).toBe(true);
    expect(subjects.every((subject) => subject.length <= 1024)).toBe(true);
    expect(a.stats().receivedWithoutRecipient).toBe(0);
  });

  it('leaves unsubscribe on the server: the subjects go once the last member leaves', async () => {
    const member = await connect(nodes[0]);
    const rooms = Array.from({ length: 300 }, (_, i) => `leave-${i}`);
    await member.request('join', rooms);
    expect(await roomSubscriptions(nats, 'leave-')).toBe(300);
    await member.close();
    await waitUntil(() => nodes[0].broker.stats().subscriptions < 300, 3000);
    let left = 300;
    const deadline = Date.now() + 3000;
    while (left > 0 && Date.now() < deadline) {
      left = await roomSubscriptions(nats, 'leave-');
    }
    expect(left).toBe(0);
  });
});

describe('NATS broker survives kill -9 of nats-server', () => {
  it('never throws or hangs while NATS is down, buffers within its bound, has 10,000 subscriptions back within 2 s of the restart, and counts losses', async () => {
    const nats = await NatsProcess.start();
    const a = await startNode({ servers: nats.url, maxBuffered: 50 });
    const b = await startNode({ servers: nats.url, maxBuffered: 50 });
    const member = await TestClient.connect(a.url);
    try {
      const rooms = Array.from({ length: 10_000 }, (_, i) => `drill-${i}`);
      const joinStarted = Date.now();
      await member.request('join', rooms);
      const joinMs = Date.now() - joinStarted;
      expect(await roomSubscriptions(nats, 'drill-')).toBe(10_000);
      const baseline = await nats.numSubscriptions();

      await expectBoundedPublishingWhileDown(b, () => nats.kill());

      await new Promise((resolve) => setTimeout(resolve, 5000));
      const reconnectsBefore = a.broker.stats().reconnects;
      await nats.restart(); // Resolves once the server accepts connections (its INFO greeting) and monitoring answers.
      const restarted = Date.now();
      await waitUntil(() => a.broker.stats().reconnects > reconnectsBefore, 3000);
      const reconnectedMs = Date.now() - restarted;
      // Every subscription of both nodes (A's 10,000 rooms, their own and path channels) is back on the server.
      let restored = 0;
      let total = 0;
      while (Date.now() - restarted < 2000) {
        [restored, total] = await Promise.all([roomSubscriptions(nats, 'drill-'), nats.numSubscriptions()]);
        if (restored === 10_000 && total === baseline) {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const restoredMs = Date.now() - restarted;
      expect(restored).toBe(10_000);
      expect(total).toBe(baseline);
      expect(restoredMs).toBeLessThan(2000);
      await waitUntil(() => a.broker.lastResubscribe() !== undefined, 2000);
      const resubscribe = a.broker.lastResubscribe();
      expect(resubscribe?.subscriptions).toBeGreaterThanOrEqual(10_000);
      expect(a.broker.stats().reconnects).toBe(reconnectsBefore + 1);

      // Traffic flows again, and the buffered broadcasts were published after the restart.
      await waitUntil(() => b.broker.stats().publishBuffered === 0, 3000);
      b.news.publish('drill-9999', 'after');
      await member.waitFor((value: { event?: string; data?: unknown }) => value?.event === 'news' && value.data === 'after', 3000);
      process.stdout.write(
        `NATS drill: 10,000 joins confirmed in ${joinMs} ms; after restart: reconnect seen at ${reconnectedMs} ms, ` +
          `server lists all 10,000 at ${restoredMs} ms, nats.js resubscription confirmed ${resubscribe?.confirmedInMs} ms after 'reconnect'; ` +
          `B dropped ${b.broker.stats().publishDropped} of the 200 sent while down (buffer: 50)\n`,
      );
    } finally {
      await member.close();
      await a.app.close();
      await b.app.close();
      await nats.stop();
    }
  }, 40_000);
});

describe('NATS broker without a server at startup', () => {
  it('attaches after its timeout, buffers broadcasts, and subscribes and flushes once the server comes up', async () => {
    const nats = await NatsProcess.start();
    await nats.stop(); // Its ports, with nobody listening.
    const broker = new NatsBroker({ servers: nats.url, maxBuffered: 5 });
    const received: string[] = [];
    const started = Date.now();
    await broker.attach((_channel, payload) => received.push(payload.toString()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
    expect(Date.now() - started).toBeLessThan(6000);
    let confirmed = false;
    const subscribed = broker.subscribe(['ch-1']).then(() => (confirmed = true));
    for (let i = 0; i < 8; i++) {
      broker.publish('ch-1', Buffer.from(`early-${i}`));
    }
    expect(broker.stats()).toMatchObject({ publishBuffered: 5, publishDropped: 3, published: 0 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(confirmed).toBe(false);

    const other = new NatsBroker({ servers: nats.url });
    try {
      await nats.restart();
      await subscribed;
      expect(await nats.clientSubjects()).toContain('sb.Y2gtMQ');
      await waitUntil(() => broker.stats().publishBuffered === 0, 2000);
      expect(broker.stats().published).toBe(5);
      // noEcho: its own buffered payloads did not come back to it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([]);
      await other.attach(() => undefined);
      other.publish('ch-1', Buffer.from('from-other'));
      await waitUntil(() => received.length === 1, 2000);
      expect(received).toEqual(['from-other']);
      expect(broker.stats().reconnects).toBe(0); // A first connection, not a reconnect.
    } finally {
      await other.detach();
      await broker.detach();
      await nats.stop();
    }
  }, 20_000);
});

describe('NATS broker on its own connection', () => {
  let nats: NatsProcess;
  let a: NatsBroker;
  let b: NatsBroker;
  const received: string[] = [];

  beforeAll(async () => {
    nats = await NatsProcess.start();
    a = new NatsBroker({ servers: nats.url });
    b = new NatsBroker({ servers: nats.url });
    await a.attach((_channel, payload) => received.push(payload.toString()));
    await b.attach(() => undefined);
  });
  afterAll(async () => {
    await a.detach();
    await b.detach();
    await nats.stop();
  });

  it('replaces a connection nats.js closed, subscribes everything on the new one, and counts it as a reconnect', async () => {
    const channels = Array.from({ length: 100 }, (_, i) => `own-${i}`);
    await a.subscribe(channels);
    // What nats.js does when it gives up (auth errors, a fatal protocol error): close the connection.
    await (a as unknown as { nc: { close(): Promise<void> } }).nc.close();
    await waitUntil(() => a.stats().reconnects === 1, 3000);
    expect(a.stats()).toMatchObject({ subscriptions: 100, resubscribeCommands: 100 });
    await a.subscribe([]); // nothing pending
    const subjects = await nats.clientSubjects();
    expect(channels.every((channel) => subjects.filter((subject) => channelOfSubject('sb', subject) === channel).length === 1)).toBe(true);
    b.publish('own-7', Buffer.from('after-close'));
    await waitUntil(() => received.includes('after-close'), 2000);
  });

  it('drops and counts a payload over max_payload without throwing or losing the connection', async () => {
    await a.subscribe(['big']);
    const before = b.stats();
    expect(() => b.publish('big', Buffer.alloc(2 * 1024 * 1024))).not.toThrow();
    expect(b.stats().publishDropped - before.publishDropped).toBe(1);
    b.publish('big', Buffer.from('small'));
    await waitUntil(() => received.includes('small'), 2000);
    expect(b.stats().reconnects).toBe(0);
  });
});

describeClusterOperations('NATS', () => NatsProcess.start(), (url) => new NatsBroker({ servers: url }));

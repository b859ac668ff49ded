import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InMemoryBroker, InMemoryBus, clusterChannel, pathChannel, roomChannel, SwitchboardAdapter, SwitchboardModule, type SwitchboardServer } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { NewsService, RoomsGateway } from '../fixtures/rooms.gateway.js';
import { expectNothing, nextFrame } from '../helpers/harness-client.js';
import { waitUntil } from './drop-in.suite.js';

/** The rooms gateway on the in-memory harness, with a broker for the multi-node tests. */
function roomsHarness(broker?: InMemoryBroker): Promise<GatewayHarness> {
  return createGatewayHarness({ imports: [SwitchboardModule.forRoot({ broker })], providers: [RoomsGateway, NewsService] }, { logger: false });
}

/** The rooms gateway on a real port: for the crowd of 10,000 real sockets in a child process. */
async function startRoomsApp(): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [SwitchboardModule.forRoot()],
    providers: [RoomsGateway, NewsService],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(new SwitchboardAdapter(app));
  await app.listen(0, '127.0.0.1');
  return { app, url: `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/rooms` };
}

type Member = GatewayTestClient & { id: string };

/** The frames of one event a client received, in order. */
function eventsOf(client: GatewayTestClient, event: string): unknown[] {
  return client.messages.filter((message) => message.event === event).map((message) => message.data);
}

describe('rooms and broadcasting', () => {
  let harness: GatewayHarness;
  let server: SwitchboardServer;

  async function member(...rooms: string[]): Promise<Member> {
    const client = await harness.connect('/rooms');
    const id = await client.request<string>('whoami', null);
    if (rooms.length > 0) {
      await client.request('join', rooms);
    }
    return Object.assign(client, { id });
  }

  beforeEach(async () => {
    harness = await roomsHarness();
    server = harness.get(RoomsGateway).server;
    RoomsGateway.roomsAtDisconnect = [];
  });

  afterEach(() => harness.close());

  it('joins and leaves rooms; an empty room disappears', async () => {
    const client = await member();
    await expect(client.request('join', ['a', 'b'])).resolves.toEqual(['a', 'b']);
    await expect(client.request('join', 'a')).resolves.toEqual(['a', 'b']); // joining twice is a no-op
    expect(server.roomNames().sort()).toEqual(['a', 'b']);
    await expect(client.request('leave', 'a')).resolves.toEqual(['b']);
    await expect(client.request('leave', 'nope')).resolves.toEqual(['b']);
    expect(server.roomNames()).toEqual(['b']);
    expect(server.membersOf('b').map((socket) => socket.id)).toEqual([client.id]);
  });

  it('rejects an empty room name with an INVALID_ROOM error ack', async () => {
    const client = await member();
    await expect(client.request('join', '')).rejects.toMatchObject({ code: 'INVALID_ROOM' });
  });

  it('takes a disconnected client out of every room, after handleDisconnect could still read them', async () => {
    const leaving = await member('a', 'b');
    const staying = await member('b');
    await leaving.close();
    await waitUntil(() => RoomsGateway.roomsAtDisconnect.length === 1);
    expect(RoomsGateway.roomsAtDisconnect[0]).toEqual(['a', 'b']);
    await waitUntil(() => !server.roomNames().includes('a'));
    expect(server.roomNames()).toEqual(['b']);
    expect(server.membersOf('b').map((socket) => socket.id)).toEqual([staying.id]);
  });

  it('sends to room members except the sender', async () => {
    const alice = await member('lobby');
    const bob = await member('lobby');
    const carol = await member('elsewhere');
    await expect(alice.request('say', { room: 'lobby', text: 'hi' })).resolves.toBe(1);
    expect(await nextFrame(bob, 'said')).toEqual({ event: 'said', data: { from: alice.id, text: 'hi' } });
    await expectNothing(carol, 60);
    expect(eventsOf(alice, 'said')).toEqual([]);
  });

  it('delivers once to a client in several targeted rooms', async () => {
    const both = await member('a', 'b');
    const onlyA = await member('a');
    const onlyB = await member('b');
    await expect(both.request('to-rooms', { rooms: ['a', 'b'], n: 1 })).resolves.toBe(3);
    await Promise.all([both.expectEvent('multi'), onlyA.expectEvent('multi'), onlyB.expectEvent('multi')]);
    await expectNothing(both, 60);
    expect(both.messages.filter((message) => JSON.stringify(message.raw).includes('multi'))).toHaveLength(1);
  });

  it('skips members of excepted rooms and excepted clients', async () => {
    const vip = await member('a', 'vip');
    const plain = await member('a');
    const other = await member('b');
    await expect(plain.request('to-rooms', { rooms: ['a', 'b'], except: ['vip'], n: 2 })).resolves.toBe(2);
    await plain.expectEvent('multi');
    await other.expectEvent('multi');
    await expectNothing(vip, 60);
    expect(server.to('a').except(vip.id ? { id: vip.id } : []).count()).toBe(1);
    expect(server.to(['a', 'b']).exceptClient([plain.id, other.id]).sockets().map((socket) => socket.id)).toEqual([vip.id]);
  });

  it('sends to one client by id', async () => {
    const sender = await member();
    const target = await member();
    const bystander = await member();
    await expect(sender.request('whisper', { to: target.id, text: 'psst' })).resolves.toBe(1);
    expect(await nextFrame(target, 'whisper')).toEqual({ event: 'whisper', data: 'psst' });
    await expectNothing(bystander, 60);
    await expect(sender.request('whisper', { to: 'no-such-id', text: 'x' })).resolves.toBe(0);
  });

  it('broadcasts to everyone but the sender, and to everyone with server.emit', async () => {
    const a = await member();
    const b = await member();
    await expect(a.request('shout', 'hey')).resolves.toBe(1);
    expect(await nextFrame(b, 'shout')).toEqual({ event: 'shout', data: 'hey' });
    await expect(a.request('announce', 'all')).resolves.toBe(true);
    await Promise.all([a.expectEvent('announce'), b.expectEvent('announce')]);
  });

  it('keeps operators immutable', () => {
    const lobby = server.to('lobby');
    const both = lobby.to('kitchen');
    const excluding = lobby.except('vip');
    expect(lobby).not.toBe(both);
    expect(lobby).not.toBe(excluding);
    // Nothing leaked into the first operator: it still targets only the lobby.
    expect((lobby as unknown as { targeting: { rooms: string[]; exceptRooms?: string[] } }).targeting).toEqual({
      rooms: ['lobby'],
      compress: false,
      local: false,
    });
  });

  it('pushes from a service outside any gateway', async () => {
    const reader = await member('sports');
    const other = await member('weather');
    const news = harness.get(NewsService);
    expect(news.publish('sports', 'goal!')).toBe(1);
    expect(await nextFrame(reader, 'news')).toEqual({ event: 'news', data: 'goal!' });
    expect(news.publishToEveryone('all hands')).toBe(2);
    await other.expectEvent('news');
    await expectNothing(other, 40);
  });

  it('reports counts and a stats snapshot', async () => {
    const a = await member('x', 'y');
    await member('x');
    await a.request('to-rooms', { rooms: ['x'], n: 3 });
    const stats = server.getStats();
    expect(stats).toMatchObject({ path: '/rooms', connections: 2, rooms: 2, broadcasts: 1, deliveries: 2 });
    expect(server.to('x').count()).toBe(2);
    expect([...server.roomsOf(server.clientById(a.id)!)]).toEqual(['x', 'y']);
  });

  it('serves join/leave churn during a stream of broadcasts: stable members get every message once', async () => {
    const stable = await Promise.all([1, 2, 3].map(() => member('live')));
    const churners = await Promise.all([1, 2, 3, 4].map(() => member()));
    const total = 200;
    const churn = (async () => {
      for (let i = 0; i < 30; i++) {
        await Promise.all(churners.map((client, index) => client.request(i % 2 === index % 2 ? 'join' : 'leave', 'live')));
      }
    })();
    for (let n = 0; n < total; n++) {
      server.to('live').emit('tick', n);
      if (n % 20 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await churn;
    for (const client of stable) {
      await waitUntil(() => eventsOf(client, 'tick').length >= total);
      expect(eventsOf(client, 'tick')).toEqual(Array.from({ length: total }, (_, n) => n));
    }
    for (const client of churners) {
      const ticks = eventsOf(client, 'tick');
      expect(new Set(ticks).size).toBe(ticks.length); // never twice
    }
  });

  describe('server-to-client requests', () => {
    it("resolves with the client's ack", async () => {
      const client = await member();
      client.onRequest('question', (question) => `answer to ${String(question)}`);
      await expect(client.request('ask', { question: 'life' })).resolves.toEqual({ answer: 'answer to life' });
    });

    it('rejects with REQUEST_REJECTED when the client acks an error', async () => {
      const client = await member();
      // An error ack with a code of the client's choosing (onRequest answers a throw with CLIENT_ERROR).
      client.socket.on('message', (raw) => {
        const message = JSON.parse(String(raw));
        if (message.event === 'question') {
          client.sendRaw({ id: message.id, status: 'error', error: { code: 'NO', message: 'will not say' } });
        }
      });
      await expect(client.request('ask', { question: 'pin' })).resolves.toEqual({
        failed: 'REQUEST_REJECTED',
        details: { code: 'NO', message: 'will not say' },
      });
    });

    it('rejects with REQUEST_TIMEOUT, and counts a late ack as stray', async () => {
      const client = await member();
      await expect(client.request('ask', { question: 'slow', timeout: 50 })).resolves.toEqual({ failed: 'REQUEST_TIMEOUT' });
      const question = (await nextFrame(client, 'question')) as { id: string };
      client.sendRaw({ id: question.id, status: 'ok', data: 'too late' });
      await waitUntil(() => server.getStats().strayAcks === 1);
      expect(server.getStats().requestsTimedOut).toBe(1);
    });

    it('rejects pending requests with DISCONNECTED when the client leaves', async () => {
      const client = await member();
      const socket = server.clientById(client.id)!;
      const outcome = socket.request('question', 'anyone?', { timeout: 5000 }).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      await client.expectEvent('question');
      await client.close();
      expect(await outcome).toMatchObject({ code: 'DISCONNECTED' });
      await expect(socket.request('question', 'again')).rejects.toMatchObject({ code: 'DISCONNECTED' });
    });
  });
});

/** 10,000 real sockets: a crowd in a child process (one process's fd limit cannot hold both ends), over TCP. */
describe('a room of 10,000 members', () => {
  it('delivers one broadcast to every member once', async () => {
    const { app, url } = await startRoomsApp();
    const server = app.get(RoomsGateway).server;
    const crowd = fork(fileURLToPath(new URL('../helpers/crowd.mjs', import.meta.url)), [url, '10000', JSON.stringify({ event: 'join', data: 'big', id: 1 })], {
      stdio: 'ignore',
      execArgv: [],
    });
    try {
      const ready = await new Promise<{ acked: number }>((resolve, reject) => {
        crowd.once('message', (message) => resolve(message as { acked: number }));
        crowd.once('exit', (code) => reject(new Error(`crowd exited with ${code}`)));
      });
      expect(ready.acked).toBe(10000);
      expect(server.membersOf('big')).toHaveLength(10000);
      const started = process.hrtime.bigint();
      expect(server.to('big').emit('bulletin', { n: 1 })).toBe(10000);
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      const counts = await new Promise<{ received: Record<string, number>; duplicates: number }>((resolve) => {
        crowd.on('message', (message) => resolve(message as { received: Record<string, number>; duplicates: number }));
        crowd.send({ waitFor: 'bulletin', count: 10000 });
      });
      expect(counts.received.bulletin).toBe(10000);
      expect(counts.duplicates).toBe(0);
      // Writing one prepared frame to 10,000 sockets is a tight synchronous loop.
      expect(elapsedMs).toBeLessThan(2000);
    } finally {
      crowd.send('close');
      await new Promise((resolve) => crowd.once('exit', resolve));
      await app.close();
    }
  }, 90000);
});

describe('across nodes through the broker seam', () => {
  it('reaches members on another node, and only nodes with members in the room subscribe to it', async () => {
    const bus = new InMemoryBus();
    const brokerA = new InMemoryBroker(bus);
    const brokerB = new InMemoryBroker(bus);
    const nodeA = await roomsHarness(brokerA);
    const nodeB = await roomsHarness(brokerB);
    try {
      const onA = await nodeA.connect('/rooms');
      const onB = await nodeB.connect('/rooms');
      const plainB = await nodeB.connect('/rooms');
      await onA.request('join', 'shared');
      await onB.request('join', ['shared', 'b-only']);
      // Besides its own node channel, a node listens on the paths it serves and the rooms it has members in.
      const listens = (broker: InMemoryBroker): string[] => broker.subscriptions().filter((channel) => !channel.startsWith('n\u0000') && channel !== clusterChannel()).sort();
      expect(listens(brokerA)).toEqual([pathChannel('/rooms'), roomChannel('/rooms', 'shared')].sort());
      expect(listens(brokerB)).toEqual([pathChannel('/rooms'), roomChannel('/rooms', 'b-only'), roomChannel('/rooms', 'shared')].sort());

      // A room broadcast on node A reaches node B's member, once.
      nodeA.get(NewsService).publish('shared', 'cross-node');
      expect(await nextFrame(onB, 'news')).toEqual({ event: 'news', data: 'cross-node' });
      expect(await nextFrame(onA, 'news')).toEqual({ event: 'news', data: 'cross-node' });
      await expectNothing(plainB, 60);

      // A room with no members on A: A's broadcast travels, A has no local member.
      const deliveredBefore = bus.delivered;
      expect(nodeA.get(NewsService).publish('b-only', 'for b')).toBe(0);
      expect(await nextFrame(onB, 'news')).toEqual({ event: 'news', data: 'for b' });
      expect(bus.delivered).toBe(deliveredBefore + 1);

      // Node B leaves 'b-only': its subscription goes, so nothing is routed to it.
      await onB.request('leave', 'b-only');
      expect(brokerB.subscriptions()).not.toContain(roomChannel('/rooms', 'b-only'));
      const before = bus.delivered;
      nodeA.get(NewsService).publish('b-only', 'nobody');
      expect(bus.delivered).toBe(before);

      // `local` stays on the node.
      nodeA.get(RoomsGateway).server.local.emit('only-a', 1);
      await onA.expectEvent('only-a');
      await expectNothing(onB, 60);
    } finally {
      await nodeA.close();
      await nodeB.close();
    }
  });
});

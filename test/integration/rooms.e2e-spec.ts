import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InMemoryBroker, InMemoryBus, pathChannel, roomChannel, SwitchboardAdapter, SwitchboardModule, type SwitchboardServer } from '../../lib/index.js';
import { NewsService, RoomsGateway } from '../fixtures/rooms.gateway.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

async function startRoomsApp(broker?: InMemoryBroker): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [SwitchboardModule.forRoot({ broker })],
    providers: [RoomsGateway, NewsService],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(new SwitchboardAdapter(app));
  await app.listen(0, '127.0.0.1');
  return { app, url: `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/rooms` };
}

describe('rooms and broadcasting', () => {
  let app: INestApplication;
  let url: string;
  let server: SwitchboardServer;
  const clients: TestClient[] = [];

  async function member(...rooms: string[]): Promise<TestClient & { id: string }> {
    const client = (await TestClient.connect(url)) as TestClient & { id: string };
    clients.push(client);
    client.id = (await client.request('whoami', null)).data;
    if (rooms.length > 0) {
      await client.request('join', rooms);
    }
    return client;
  }

  beforeEach(async () => {
    ({ app, url } = await startRoomsApp());
    server = app.get(RoomsGateway).server;
    RoomsGateway.roomsAtDisconnect = [];
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await app.close();
  });

  it('joins and leaves rooms; an empty room disappears', async () => {
    const client = await member();
    expect((await client.request('join', ['a', 'b'])).data).toEqual(['a', 'b']);
    expect((await client.request('join', 'a')).data).toEqual(['a', 'b']); // joining twice is a no-op
    expect(server.roomNames().sort()).toEqual(['a', 'b']);
    expect((await client.request('leave', 'a')).data).toEqual(['b']);
    expect((await client.request('leave', 'nope')).data).toEqual(['b']);
    expect(server.roomNames()).toEqual(['b']);
    expect(server.membersOf('b').map((socket) => socket.id)).toEqual([client.id]);
  });

  it('rejects an empty room name with an INVALID_ROOM error ack', async () => {
    const client = await member();
    expect(await client.request('join', '')).toMatchObject({ status: 'error', error: { code: 'INVALID_ROOM' } });
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
    expect((await alice.request('say', { room: 'lobby', text: 'hi' })).data).toBe(1);
    expect(await bob.event('said')).toEqual({ event: 'said', data: { from: alice.id, text: 'hi' } });
    expect(await carol.framesWithin(60)).toEqual([]);
    expect(alice.received.filter((value: any) => value?.event === 'said')).toEqual([]);
  });

  it('delivers once to a client in several targeted rooms', async () => {
    const both = await member('a', 'b');
    const onlyA = await member('a');
    const onlyB = await member('b');
    expect((await both.request('to-rooms', { rooms: ['a', 'b'], n: 1 })).data).toBe(3);
    await Promise.all([both.event('multi'), onlyA.event('multi'), onlyB.event('multi')]);
    expect(await both.framesWithin(60)).toEqual([]);
    expect(both.rawFrames.filter((frame) => frame.data.toString().includes('multi'))).toHaveLength(1);
  });

  it('skips members of excepted rooms and excepted clients', async () => {
    const vip = await member('a', 'vip');
    const plain = await member('a');
    const other = await member('b');
    expect((await plain.request('to-rooms', { rooms: ['a', 'b'], except: ['vip'], n: 2 })).data).toBe(2);
    await plain.event('multi');
    await other.event('multi');
    expect(await vip.framesWithin(60)).toEqual([]);
    expect(server.to('a').except(vip.id ? { id: vip.id } : []).count()).toBe(1);
    expect(server.to(['a', 'b']).exceptClient([plain.id, other.id]).sockets().map((socket) => socket.id)).toEqual([vip.id]);
  });

  it('sends to one client by id', async () => {
    const sender = await member();
    const target = await member();
    const bystander = await member();
    expect((await sender.request('whisper', { to: target.id, text: 'psst' })).data).toBe(1);
    expect(await target.event('whisper')).toEqual({ event: 'whisper', data: 'psst' });
    expect(await bystander.framesWithin(60)).toEqual([]);
    expect((await sender.request('whisper', { to: 'no-such-id', text: 'x' })).data).toBe(0);
  });

  it('broadcasts to everyone but the sender, and to everyone with server.emit', async () => {
    const a = await member();
    const b = await member();
    expect((await a.request('shout', 'hey')).data).toBe(1);
    expect(await b.event('shout')).toEqual({ event: 'shout', data: 'hey' });
    expect((await a.request('announce', 'all')).data).toBe(true);
    await Promise.all([a.event('announce'), b.event('announce')]);
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
    const news = app.get(NewsService);
    expect(news.publish('sports', 'goal!')).toBe(1);
    expect(await reader.event('news')).toEqual({ event: 'news', data: 'goal!' });
    expect(news.publishToEveryone('all hands')).toBe(2);
    await other.event('news');
    expect(await other.framesWithin(40)).toEqual([]);
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
      await waitUntil(() => client.rawFrames.filter((frame) => frame.data.toString().includes('"tick"')).length >= total);
      const ticks = client.rawFrames.map((frame) => JSON.parse(frame.data.toString())).filter((value) => value.event === 'tick');
      expect(ticks.map((value) => value.data)).toEqual(Array.from({ length: total }, (_, n) => n));
    }
    for (const client of churners) {
      const ticks = client.rawFrames.map((frame) => JSON.parse(frame.data.toString())).filter((value) => value.event === 'tick');
      expect(new Set(ticks.map((value) => value.data)).size).toBe(ticks.length); // never twice
    }
  });

  describe('server-to-client requests', () => {
    it("resolves with the client's ack", async () => {
      const client = await member();
      client.socket.on('message', (raw) => {
        const message = JSON.parse(String(raw));
        if (message.event === 'question') {
          client.send({ id: message.id, status: 'ok', data: `answer to ${message.data}` });
        }
      });
      expect((await client.request('ask', { question: 'life' })).data).toEqual({ answer: 'answer to life' });
    });

    it('rejects with REQUEST_REJECTED when the client acks an error', async () => {
      const client = await member();
      client.socket.on('message', (raw) => {
        const message = JSON.parse(String(raw));
        if (message.event === 'question') {
          client.send({ id: message.id, status: 'error', error: { code: 'NO', message: 'will not say' } });
        }
      });
      expect((await client.request('ask', { question: 'pin' })).data).toEqual({
        failed: 'REQUEST_REJECTED',
        details: { code: 'NO', message: 'will not say' },
      });
    });

    it('rejects with REQUEST_TIMEOUT, and counts a late ack as stray', async () => {
      const client = await member();
      expect((await client.request('ask', { question: 'slow', timeout: 50 })).data).toEqual({ failed: 'REQUEST_TIMEOUT' });
      const question = await client.event('question');
      client.send({ id: question.id, status: 'ok', data: 'too late' });
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
      await client.event('question');
      await client.close();
      expect(await outcome).toMatchObject({ code: 'DISCONNECTED' });
      await expect(socket.request('question', 'again')).rejects.toMatchObject({ code: 'DISCONNECTED' });
    });
  });
});

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
    const nodeA = await startRoomsApp(brokerA);
    const nodeB = await startRoomsApp(brokerB);
    const clients: TestClient[] = [];
    try {
      const onA = await TestClient.connect(nodeA.url);
      const onB = await TestClient.connect(nodeB.url);
      const plainB = await TestClient.connect(nodeB.url);
      clients.push(onA, onB, plainB);
      await onA.request('join', 'shared');
      await onB.request('join', ['shared', 'b-only']);
      // Besides its own node channel, a node listens on the paths it serves and the rooms it has members in.
      const listens = (broker: InMemoryBroker): string[] => broker.subscriptions().filter((channel) => !channel.startsWith('n\u0000')).sort();
      expect(listens(brokerA)).toEqual([pathChannel('/rooms'), roomChannel('/rooms', 'shared')].sort());
      expect(listens(brokerB)).toEqual([pathChannel('/rooms'), roomChannel('/rooms', 'b-only'), roomChannel('/rooms', 'shared')].sort());

      // A room broadcast on node A reaches node B's member, once.
      nodeA.app.get(NewsService).publish('shared', 'cross-node');
      expect(await onB.event('news')).toEqual({ event: 'news', data: 'cross-node' });
      expect(await onA.event('news')).toEqual({ event: 'news', data: 'cross-node' });
      expect(await plainB.framesWithin(60)).toEqual([]);

      // A room with no members on A: A's broadcast travels, A has no local member.
      const deliveredBefore = bus.delivered;
      expect(nodeA.app.get(NewsService).publish('b-only', 'for b')).toBe(0);
      expect(await onB.event('news')).toEqual({ event: 'news', data: 'for b' });
      expect(bus.delivered).toBe(deliveredBefore + 1);

      // Node B leaves 'b-only': its subscription goes, so nothing is routed to it.
      await onB.request('leave', 'b-only');
      expect(brokerB.subscriptions()).not.toContain(roomChannel('/rooms', 'b-only'));
      const before = bus.delivered;
      nodeA.app.get(NewsService).publish('b-only', 'nobody');
      expect(bus.delivered).toBe(before);

      // `local` stays on the node.
      nodeA.app.get(RoomsGateway).server.local.emit('only-a', 1);
      await onA.event('only-a');
      expect(await onB.framesWithin(60)).toEqual([]);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await nodeA.app.close();
      await nodeB.app.close();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { InMemoryBroker, InMemoryBus } from '../../lib/index.js';
import { WorkGate } from '../fixtures/recovery.gateway.js';
import { RecoveringClient, startRecoveryNode, type RecoveryNode } from '../helpers/recovery-node.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

/**
 * Connection-state recovery end to end on real sockets, on the in-memory
 * bus (one process; the Redis spec runs the cross-process cases): positions,
 * replay in order, recovered:false past the window, exclusions kept, one
 * ack per request id across a cut, one history read for many recoveries.
 */
describe('connection-state recovery (in-memory history)', () => {
  let nodes: RecoveryNode[] = [];
  const sockets: TestClient[] = [];

  beforeEach(() => WorkGate.reset());
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((client) => client.close()));
    await Promise.all(nodes.map((node) => node.app.close()));
    nodes = [];
  });

  async function cluster(count: number, recovery: Parameters<typeof startRecoveryNode>[1] = true): Promise<RecoveryNode[]> {
    const bus = new InMemoryBus();
    nodes = await Promise.all(Array.from({ length: count }, () => startRecoveryNode(new InMemoryBroker(bus), recovery)));
    return nodes;
  }

  async function member(node: RecoveryNode, room: string): Promise<RecoveringClient> {
    const client = await RecoveringClient.connect(node.url);
    sockets.push(client.client);
    await client.client.request('join', room);
    await waitUntil(() => client.positions.has(room), 2000);
    return client;
  }

  it('opens every connection with $session, tells joins with their position, answers $ping', async () => {
    const [node] = await cluster(1);
    const client = await TestClient.connect(node.url);
    sockets.push(client);
    const session = await client.event('$session');
    expect(session.data).toEqual({ sid: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/), ttl: 120_000 });
    expect(client.rawFrames).toHaveLength(1); // The first frame.
    await client.request('join', 'lobby');
    expect((await client.event('$joined')).data).toEqual({ room: 'lobby', epoch: expect.any(String), offset: 0 });
    node.gateway.server.to('lobby').emit('news', 'one');
    expect(await client.event('news')).toEqual({ event: 'news', data: 'one', room: 'lobby', epoch: expect.any(String), offset: 1 });
    client.send({ event: '$ping' });
    await client.event('$pong');
    await client.request('leave', 'lobby');
    expect((await client.event('$left')).data).toEqual({ room: 'lobby' });
  });

  it('a client offline while 1,000 messages go to its room from 3 nodes gets all, in order, once, recovered: true, on another node', async () => {
    const [a, b, c] = await cluster(3);
    const listener = await member(a, 'busy');
    // Members on the other nodes too, so that every node publishes to a room it is subscribed to.
    await member(b, 'busy');
    await member(c, 'busy');
    a.gateway.server.to('busy').emit('n', -1);
    await waitUntil(() => listener.seen.get('busy')?.length === 1, 2000);
    await listener.client.socket.terminate();
    await listener.client.waitClose();
    const senders = [a, b, c];
    for (let n = 0; n < 1000; n++) {
      senders[n % 3].gateway.server.to('busy').emit('n', n);
    }
    const answer = await listener.reconnect(c.url);
    sockets.push(listener.client);
    expect(answer.rooms.busy).toEqual({ recovered: true, epoch: expect.any(String), offset: 1001, replayed: 1000 });
    expect(listener.seen.get('busy')).toEqual([-1, ...Array.from({ length: 1000 }, (_, n) => n)]);
    expect(listener.duplicates).toBe(0);
    // Membership restored on the new node: live messages keep coming, with the next offset.
    b.gateway.server.to('busy').emit('n', 1000);
    await waitUntil(() => listener.seen.get('busy')!.length === 1002, 2000);
    expect(listener.positions.get('busy')!.offset).toBe(1002);
  });

  it('says recovered: false per room when the gap is past the history, and keeps the room', async () => {
    const [node] = await cluster(1, { historySize: 10 });
    const client = await member(node, 'small');
    await client.client.request('join', 'quiet');
    await waitUntil(() => client.positions.has('quiet'), 2000);
    await client.client.socket.terminate();
    await client.client.waitClose();
    for (let n = 0; n < 25; n++) {
      node.gateway.server.to('small').emit('n', n);
    }
    node.gateway.server.to('quiet').emit('n', 'q');
    const answer = await client.reconnect(node.url);
    sockets.push(client.client);
    expect(answer.rooms.small).toEqual({ recovered: false, epoch: expect.any(String), offset: 25 });
    expect(answer.rooms.quiet).toEqual({ recovered: true, epoch: expect.any(String), offset: 1, replayed: 1 });
    expect(client.seen.get('small')).toBeUndefined(); // No silent partial replay.
    node.gateway.server.to('small').emit('n', 'after');
    await waitUntil(() => client.seen.get('small')?.length === 1, 2000);
  });

  it('does not replay what excluded the client, and says expired for an unknown session', async () => {
    const [node] = await cluster(1);
    const alice = await member(node, 'chat');
    const bob = await member(node, 'chat');
    await alice.client.request('say', { room: 'chat', n: 1 }); // To bob, not alice.
    await waitUntil(() => bob.seen.get('chat')?.length === 1, 2000);
    await alice.client.socket.terminate();
    await alice.client.waitClose();
    node.gateway.server.to('chat').emit('said', 2);
    const answer = await alice.reconnect(node.url);
    sockets.push(alice.client);
    expect(answer.rooms.chat).toMatchObject({ recovered: true, replayed: 1 });
    expect(alice.seen.get('chat')).toEqual([2]);
    // A made-up session, a malformed body: answered, never thrown.
    const stranger = await TestClient.connect(node.url);
    sockets.push(stranger);
    expect((await stranger.request('$recover', { sid: 'nope', rooms: { __proto__: { epoch: 'x', offset: 1 } } })).data).toEqual({ rooms: {}, session: 'expired' });
    expect(await stranger.request('$recover', { sid: 42 })).toMatchObject({ status: 'error', error: { code: 'BAD_REQUEST' } });
    // A session is recovered once.
    expect((await stranger.request('$recover', { sid: alice.sid })).data).toEqual({ rooms: {}, session: 'expired' });
  });

  it('runs a request once when its connection is cut between the handler and its ack, 1,000 times', async () => {
    const [node] = await cluster(1);
    let client = await RecoveringClient.connect(node.url);
    await client.client.event('$session');
    for (let i = 0; i < 1000; i++) {
      const key = `k${i}`;
      const started = new Promise<void>((resolve) => WorkGate.started.set(key, resolve));
      client.client.send({ event: 'work', data: key, id: key });
      await started;
      client.client.socket.terminate();
      await client.client.waitClose();
      if (i % 2 === 0) {
        WorkGate.release(key); // The ack is written to a closed connection: lost on the wire, kept in the session.
      }
      await client.reconnect(node.url);
      client.client.send({ event: 'work', data: key, id: key }); // The client sends its in-flight request again.
      if (i % 2 === 1) {
        WorkGate.release(key); // Still running when the repeat came: the repeat waits for it.
      }
      expect(await client.client.ack(key)).toEqual({ id: key, status: 'ok', data: { key, runs: 1 } });
      expect(WorkGate.runs.get(key)).toBe(1);
    }
    sockets.push(client.client);
    client = undefined as never;
  }, 60_000);

  it('never skips a room message in silence for a slow reader: closes it (1013), and its recovery replays what it missed', async () => {
    const [node] = await cluster(1, { historySize: 4000 });
    const slow = await member(node, 'firehose');
    (slow.client.socket as unknown as { _socket: { pause(): void } })._socket.pause(); // Stops reading from TCP.
    const text = 'x'.repeat(4096);
    // 12 MB: more than loopback's socket buffers hold, so the server's own buffer passes its high-water mark.
    for (let n = 0; n < 3000; n++) {
      node.gateway.server.to('firehose').emit('n', { n, text });
    }
    await waitUntil(() => node.gateway.server.getStats().slowConsumerCloses === 1, 5000);
    expect(node.gateway.server.getStats().slowConsumerSkips).toBe(0);
    slow.client.socket.terminate();
    const answer = await slow.reconnect(node.url);
    sockets.push(slow.client);
    expect(answer.rooms.firehose).toMatchObject({ recovered: true, replayed: 3000 });
    expect((slow.seen.get('firehose') as Array<{ n: number }>).map((message) => message.n)).toEqual(Array.from({ length: 3000 }, (_, n) => n));
  });

  it('keeps one order per room when several nodes publish to it in the same tick: offsets strictly increase on every connection', async () => {
    const [a, b] = await cluster(2);
    const onA = await member(a, 'mixed');
    const onB = await member(b, 'mixed');
    for (let n = 0; n < 2000; n++) {
      a.gateway.server.to('mixed').emit('n', `a${n}`);
      b.gateway.server.to('mixed').emit('n', `b${n}`);
    }
    await waitUntil(() => onA.seen.get('mixed')?.length === 4000 && onB.seen.get('mixed')?.length === 4000, 10_000);
    for (const client of [onA, onB]) {
      expect(client.offsets.get('mixed')).toEqual(Array.from({ length: 4000 }, (_, i) => i + 1));
      expect(client.duplicates).toBe(0);
    }
  });

  it('never evicts a running request from the dedup window: a long request behind many quick ones still runs once', async () => {
    const [node] = await cluster(1, { dedupWindow: 3 });
    const client = await RecoveringClient.connect(node.url);
    await client.client.event('$session');
    const started = new Promise<void>((resolve) => WorkGate.started.set('long', resolve));
    client.client.send({ event: 'work', data: 'long', id: 'long' });
    await started;
    for (let i = 0; i < 5; i++) {
      const key = `quick${i}`;
      const quickStarted = new Promise<void>((resolve) => WorkGate.started.set(key, resolve));
      client.client.send({ event: 'work', data: key, id: key });
      await quickStarted;
      WorkGate.release(key);
      await client.client.ack(key);
    }
    client.client.socket.terminate();
    await client.client.waitClose();
    await client.reconnect(node.url);
    sockets.push(client.client);
    client.client.send({ event: 'work', data: 'long', id: 'long' });
    WorkGate.release('long');
    expect(await client.client.ack('long')).toMatchObject({ status: 'ok', data: { runs: 1 } });
    expect(WorkGate.runs.get('long')).toBe(1);
  });

  it('answers a room named __proto__ like any other, and a closed socket joins nothing', async () => {
    const [node] = await cluster(1);
    const client = await member(node, '__proto__');
    client.client.socket.terminate();
    await client.client.waitClose();
    const answer = await client.reconnect(node.url);
    sockets.push(client.client);
    expect(Object.keys(answer.rooms)).toEqual(['__proto__']);
    expect(answer.rooms['__proto__']).toMatchObject({ recovered: true });
    const [socket] = node.gateway.server.clients;
    socket.terminate();
    await waitUntil(() => node.gateway.server.clients.size === 0, 2000);
    await socket.join('late');
    expect(node.gateway.server.membersOf('late')).toEqual([]);
    expect(node.gateway.server.roomNames()).toEqual([]);
  });

  it('1,000 clients recovering one room at once cost one history read on that node', async () => {
    const [a, b] = await cluster(2);
    const clients = await Promise.all(Array.from({ length: 1000 }, () => member(a, 'crowd')));
    await Promise.all(clients.map(async (client) => {
      client.client.socket.terminate();
      await client.client.waitClose();
    }));
    for (let n = 0; n < 20; n++) {
      a.gateway.server.to('crowd').emit('n', n);
    }
    // Someone on node B keeps it listening on the room while the crowd reconnects there.
    await member(b, 'crowd');
    const history = b.hub.broker.history!;
    const readsBefore = history.historyReads;
    const answers = await Promise.all(clients.map((client) => client.reconnect(b.url)));
    clients.forEach((client) => sockets.push(client.client));
    expect(answers.every((answer) => answer.rooms.crowd.recovered && answer.rooms.crowd.replayed === 20)).toBe(true);
    expect(clients.every((client) => client.seen.get('crowd')!.length === 20)).toBe(true);
    expect(history.historyReads - readsBefore).toBeLessThanOrEqual(1);
  }, 60_000);
});

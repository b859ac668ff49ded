import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Broadcaster, type ClusterSockets } from '../../lib/index.js';
import { SwitchboardHub } from '../../lib/hub/switchboard-hub.js';
import { RoomsGateway } from '../fixtures/rooms.gateway.js';
import { waitUntil } from '../integration/drop-in.suite.js';
import type { Broker } from '../../lib/index.js';
import { startRoomsNode, type RoomsNode } from './scale-out.js';
import { TestClient } from './ws-client.js';

/** Small liveness figures, so that the dead-node scenario runs in about a second. */
export const FAST_CLUSTER = { heartbeatInterval: 100, nodeTimeout: 400, requestTimeout: 3000 } as const;

/** Makes a test client answer server-to-client requests with `answer(event, data)`; `undefined` means stay silent. */
export function answerRequests(client: TestClient, answer: (event: string, data: unknown) => unknown): void {
  client.socket.on('message', (raw: Buffer) => {
    const frame = JSON.parse(raw.toString()) as { event?: string; data?: unknown; id?: number };
    if (typeof frame.event === 'string' && typeof frame.id === 'number') {
      const data = answer(frame.event, frame.data);
      if (data !== undefined) {
        client.send({ id: frame.id, status: 'ok', data });
      }
    }
  });
}

function hubOf(node: RoomsNode): { tag: string; server: RoomsGateway['server']; broadcaster: Broadcaster } {
  const broadcaster = node.app.get(Broadcaster);
  return { tag: node.stats().nodeTag, server: node.app.get(RoomsGateway).server, broadcaster };
}

/** Waits until every node knows every other one by its heartbeats. */
export async function untilNodesKnowEachOther(nodes: readonly RoomsNode[]): Promise<void> {
  await waitUntil(() => nodes.every((node) => node.app.get(Broadcaster).nodes().length === nodes.length), 5000);
}

/**
 * Cluster-wide operations over three nodes, asked from node C: fetch and
 * count a room's sockets on every node (ids, rooms, data), remote joins and
 * leaves (a broadcast right after the join resolves arrives), remote
 * disconnects, broadcasts with acks (answers plus a silent client's
 * REQUEST_TIMEOUT), serverSideEmit with and without acks.
 */
export async function expectClusterOperations(nodes: readonly RoomsNode[], connect: (node: RoomsNode) => Promise<TestClient>): Promise<void> {
  const [a, b, c] = nodes;
  await untilNodesKnowEachOther(nodes);
  const onA = await connect(a);
  const onB = await connect(b);
  const silentOnB = await connect(b);
  const onC = await connect(c);
  for (const client of [onA, onB, silentOnB, onC]) {
    await client.request('join', 'red');
  }
  const ids = await Promise.all([onA, onB, silentOnB, onC].map(async (client) => (await client.request('whoami', null)).data as string));
  hubOf(a).server.clientById(ids[0])!.data.name = 'ann';
  hubOf(b).server.clientById(ids[1])!.data.name = 'bob';
  const { server, broadcaster } = hubOf(c);
  const tags = nodes.map((node) => hubOf(node).tag);

  // Fetch and count, across nodes, with data and node tags.
  const red: ClusterSockets = await server.to('red').fetchSockets();
  expect(red.complete).toBe(true);
  expect(red.missingNodes).toEqual([]);
  expect([...red.nodes].sort()).toEqual([...tags].sort());
  expect(red.nodes[0]).toBe(tags[2]); // This node first.
  expect(red.sockets.map((socket) => socket.id).sort()).toEqual([...ids].sort());
  const ann = red.sockets.find((socket) => socket.id === ids[0])!;
  expect(ann).toMatchObject({ node: tags[0], rooms: ['red'], data: { name: 'ann' }, handshake: { path: '/rooms' } });
  expect((await server.to('red').exceptClient(ids[1]).countSockets()).count).toBe(3);
  expect((await server.to('nowhere').countSockets()).count).toBe(0);
  expect((await server.to('red').local.countSockets()).count).toBe(1);

  // Remote joins: resolved once every node's broker confirmed; a broadcast right after reaches them.
  const joined = await server.toClient([ids[0], ids[1]]).socketsJoin('green');
  expect(joined).toMatchObject({ count: 2, complete: true });
  server.to('green').emit('green-news', 1);
  await onA.event('green-news');
  await onB.event('green-news');
  expect(hubOf(a).server.clientById(ids[0])!.rooms.has('green')).toBe(true);
  const left = await server.to('green').socketsLeave('green');
  expect(left.count).toBe(2);
  await waitUntil(() => !hubOf(b).server.clientById(ids[1])!.rooms.has('green'), 2000);

  // Broadcast with acks: one answer per client, a silent one times out, nothing rejects.
  for (const client of [onA, onB, onC]) {
    answerRequests(client, (event, data) => (event === 'vote?' ? { vote: data, by: client === onA ? 'a' : client === onB ? 'b' : 'c' } : undefined));
  }
  const started = Date.now();
  const votes = await server.to('red').emitWithAck('vote?', 42, { timeout: 600 });
  expect(Date.now() - started).toBeLessThan(1500);
  expect(votes.complete).toBe(true);
  expect(votes.acks).toHaveLength(4);
  const byId = new Map(votes.acks.map((ack) => [ack.id, ack]));
  expect(byId.get(ids[0])).toEqual({ id: ids[0], node: tags[0], status: 'ok', data: { vote: 42, by: 'a' } });
  expect(byId.get(ids[3])).toMatchObject({ status: 'ok', node: tags[2], data: { by: 'c' } });
  expect(byId.get(ids[2])).toMatchObject({ status: 'error', node: tags[1], error: { code: 'REQUEST_TIMEOUT' } });

  // serverSideEmit: with acks, every other node's handler answers; without, they just run.
  const heard: string[] = [];
  a.app.get(Broadcaster).onServerSideEmit('who', (data, from) => {
    heard.push(`a:${String(data)}:${from === tags[2]}`);
    return 'node a';
  });
  b.app.get(Broadcaster).onServerSideEmit('who', async () => 'node b');
  const replies = await broadcaster.serverSideEmitWithAck('who', 'hi', { timeout: 1000 });
  expect(replies.complete).toBe(true);
  expect(replies.replies.map((reply) => reply.data).sort()).toEqual(['node a', 'node b']);
  expect(heard).toEqual(['a:hi:true']);
  broadcaster.serverSideEmit('who', 'again');
  await waitUntil(() => heard.length === 2, 2000);
  // A node without a handler answers with an error rather than silence.
  const unhandled = await broadcaster.serverSideEmitWithAck('nobody-listens', null, { timeout: 1000 });
  expect(unhandled.errors.map((error) => error.code)).toEqual(['UNKNOWN_EVENT', 'UNKNOWN_EVENT']);
  expect(unhandled.complete).toBe(false);
  expect(unhandled.missingNodes).toEqual([]);

  // Remote disconnect with an application close code.
  const closed = await server.toClient(ids[0]).disconnectSockets({ code: 4000, reason: 'kicked' });
  expect(closed.count).toBe(1);
  expect(await onA.waitClose()).toEqual({ code: 4000, reason: 'kicked' });
}

/**
 * A node that dies without a goodbye (its broker cut, its heartbeats
 * stopped): a call waiting for it resolves once heartbeats say it is dead,
 * well before the call's own timeout, naming it in missingNodes; later calls
 * leave it out and are complete again.
 */
export async function expectDeadNodeExcluded(nodes: readonly RoomsNode[], crash: (node: RoomsNode) => Promise<void>): Promise<void> {
  const [, b, c] = nodes;
  await untilNodesKnowEachOther(nodes);
  const deadTag = hubOf(b).tag;
  const { server } = hubOf(c);
  await crash(b);
  const started = Date.now();
  const answer = await server.fetchSockets({ timeout: 10_000 });
  const waited = Date.now() - started;
  // Excluded within nodeTimeout + heartbeatInterval of the crash (plus scheduling slack), not the 10 s timeout.
  expect(waited).toBeLessThan(FAST_CLUSTER.nodeTimeout + FAST_CLUSTER.heartbeatInterval + 400);
  expect(answer.missingNodes).toEqual([deadTag]);
  expect(answer.complete).toBe(false);
  await waitUntil(() => !hubOf(c).broadcaster.nodes().some((node) => node.node === deadTag), 2000);
  const after = await server.fetchSockets({ timeout: 10_000 });
  expect(after.complete).toBe(true);
  expect(after.nodes).not.toContain(deadTag);
}

/** A crash as the other nodes see it: no goodbye, no more heartbeats or answers (the broker is cut). */
export async function crashNode(node: RoomsNode): Promise<void> {
  const hub = node.app.get(SwitchboardHub) as unknown as { cluster: { stop(): void } };
  hub.cluster.stop = () => undefined;
  await node.broker.detach();
}

/** An engine process a spec starts per test and stops by pid (RedisProcess, NatsProcess). */
interface EngineProcess {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The cluster-wide scenarios on a networked broker: three fresh nodes per test on a fresh engine process,
 * with the fast liveness figures. One definition for every engine's spec.
 */
export function describeClusterOperations(engine: string, startEngine: () => Promise<EngineProcess>, brokerFor: (url: string) => Broker): void {
  describe(`cluster-wide operations over ${engine} (3 nodes)`, () => {
    let process: EngineProcess;
    let nodes: RoomsNode[] = [];
    const clients: TestClient[] = [];
    const connect = async (node: RoomsNode): Promise<TestClient> => {
      const client = await TestClient.connect(node.url);
      clients.push(client);
      return client;
    };

    beforeEach(async () => {
      process = await startEngine();
      nodes = await Promise.all([0, 1, 2].map(() => startRoomsNode(brokerFor(process.url), FAST_CLUSTER)));
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await Promise.all(nodes.map((node) => node.app.close()));
      await process.stop();
    });

    it('fetches, counts, joins, leaves, disconnects and acks across nodes, with honest answers', async () => {
      await expectClusterOperations(nodes, connect);
    });

    it('leaves a node that died without a goodbye out within nodeTimeout + heartbeatInterval', async () => {
      await expectDeadNodeExcluded(nodes, crashNode);
    });
  });
}

import { afterEach, describe, expect, it } from '@jest/globals';
import { Broadcaster, InMemoryBroker, InMemoryBus } from '../../lib/index.js';
import { FAST_CLUSTER, crashNode, expectClusterOperations, expectDeadNodeExcluded } from '../helpers/cluster-scenarios.js';
import { startRoomsNode, type RoomsNode } from '../helpers/scale-out.js';
import { TestClient } from '../helpers/ws-client.js';

/** Cluster-wide operations over three apps in one process, on one in-memory bus (the Redis and NATS specs run the same scenarios). */
describe('cluster-wide operations (in-memory bus)', () => {
  let nodes: RoomsNode[] = [];

  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
    nodes = [];
  });

  async function threeNodes(): Promise<RoomsNode[]> {
    const bus = new InMemoryBus();
    nodes = await Promise.all([0, 1, 2].map(() => startRoomsNode(new InMemoryBroker(bus), FAST_CLUSTER)));
    return nodes;
  }

  it('fetches, counts, joins, leaves, disconnects and acks across nodes, with honest answers', async () => {
    await expectClusterOperations(await threeNodes(), (node) => TestClient.connect(node.url));
  });

  it('leaves a dead node out within nodeTimeout + heartbeatInterval', async () => {
    await expectDeadNodeExcluded(await threeNodes(), crashNode);
  });

  it('a lone node answers from itself at once, complete', async () => {
    const [node] = (nodes = [await startRoomsNode(new InMemoryBroker(), FAST_CLUSTER)]);
    const client = await TestClient.connect(node.url);
    await client.request('join', 'solo');
    const broadcaster = node.app.get(Broadcaster);
    const answer = await broadcaster.of('/rooms').to('solo').fetchSockets();
    expect(answer).toMatchObject({ complete: true, missingNodes: [], errors: [] });
    expect(answer.sockets).toHaveLength(1);
    expect(broadcaster.nodes()).toEqual([{ node: node.stats().nodeTag, self: true, lastSeenAgo: 0 }]);
    expect((await broadcaster.serverSideEmitWithAck('x', 1)).replies).toEqual([]);
  });

  it('refuses what cannot cross nodes or is malformed, with coded errors', async () => {
    const [node] = (nodes = await threeNodes());
    const broadcaster = node.app.get(Broadcaster);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => broadcaster.serverSideEmit('x', cyclic)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }) as never);
    expect(() => broadcaster.serverSideEmit('', 1)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }) as never);
    await expect(broadcaster.of('/rooms').fetchSockets({ timeout: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(() => broadcaster.of('/rooms').disconnectSockets({ code: 1006 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }) as never);
    // Garbage on the cluster channel is counted, never thrown.
    const before = node.stats().malformed;
    nodes[1].broker.publish('c\u0000cluster', Buffer.from([2, 123, 0xff]));
    nodes[1].broker.publish('c\u0000cluster', Buffer.from([2, ...Buffer.from('{"t":"req","o":"zz"}')]));
    expect(node.stats().malformed).toBe(before + 2);
  });
});

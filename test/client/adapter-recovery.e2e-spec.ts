import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { SwitchboardClient, type RecoveryResult } from '../../lib/client/index.js';
import { InMemoryBroker, InMemoryBus } from '../../lib/index.js';
import { WorkGate } from '../fixtures/recovery.gateway.js';
import { startRecoveryNode, type RecoveryNode } from '../helpers/recovery-node.js';
import { until } from './helpers/spec-server.js';

/**
 * The client library and the adapter's recovery together, end to end: the
 * server cuts a client off, messages go to its room meanwhile, the client
 * reconnects by itself (to another node), the application sees each room
 * message once and in order and hears `recovered: true`; a request cut off
 * between its handler and its ack runs once and is answered.
 */
describe('SwitchboardClient + connection-state recovery on the adapter', () => {
  let nodes: RecoveryNode[] = [];
  const clients: SwitchboardClient[] = [];

  beforeEach(async () => {
    WorkGate.reset();
    const bus = new InMemoryBus();
    nodes = await Promise.all([0, 1].map(() => startRecoveryNode(new InMemoryBroker(bus))));
  });
  afterEach(async () => {
    clients.splice(0).forEach((client) => client.close());
    await Promise.all(nodes.map((node) => node.app.close()));
  });

  /** A client that goes to node 0 first and to node 1 on every reconnect. */
  function client(): SwitchboardClient {
    let attempts = 0;
    const created = new SwitchboardClient({ url: () => nodes[attempts++ === 0 ? 0 : 1].url, reconnect: { delay: 100 } });
    clients.push(created);
    return created;
  }

  const cut = (node: RecoveryNode): void => node.gateway.server.clients.forEach((socket) => socket.terminate());

  it('a server-side cut while 200 messages go to the room: all seen once, in order, on the other node, recovered: true', async () => {
    const reader = client();
    const seen: number[] = [];
    const recoveries: RecoveryResult[] = [];
    reader.on('n', (n: number) => {
      seen.push(n);
    });
    reader.on('$recovery', (result: RecoveryResult) => {
      recoveries.push(result);
    });
    await reader.request('join', 'lobby');
    await until(() => reader.rooms.has('lobby'), 3000, '$joined');
    for (let n = 0; n < 10; n++) {
      nodes[1].gateway.server.to('lobby').emit('n', n);
    }
    await until(() => seen.length === 10, 3000, 'the first 10');
    cut(nodes[0]);
    for (let n = 10; n < 210; n++) {
      nodes[1].gateway.server.to('lobby').emit('n', n);
    }
    await until(() => recoveries.length === 1, 6000, 'the recovery');
    expect(recoveries[0].rooms.lobby).toMatchObject({ recovered: true, replayed: 200 });
    await until(() => seen.length === 210, 3000, 'the replay');
    expect(seen).toEqual(Array.from({ length: 210 }, (_, n) => n));
    expect(reader.stats.duplicates).toBe(0);
    expect(nodes[1].gateway.server.clients.size).toBe(1); // Now served by node 1, still in the room:
    nodes[0].gateway.server.to('lobby').emit('n', 210);
    await until(() => seen.length === 211, 3000, 'a live message after the recovery');
  });

  it('a request cut off between its handler and its ack runs once and is answered after the reconnect', async () => {
    const worker = client();
    await until(() => worker.state === 'open' && worker.session !== undefined, 3000, 'the session');
    // Recovery moves the session to node 1; the dedup window is per node, so both cuts happen on one node here.
    nodes.reverse();
    const started = new Promise<void>((resolve) => WorkGate.started.set('job', resolve));
    const answer = worker.request('work', 'job', { timeout: 10_000 });
    await started;
    cut(nodes[1]);
    WorkGate.release('job'); // Answered to a connection that is gone: recorded in the session.
    await expect(answer).resolves.toEqual({ key: 'job', runs: 1 });
    expect(WorkGate.runs.get('job')).toBe(1);
  });
});

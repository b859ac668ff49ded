import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisBroker } from '../../lib/redis/index.js';
import { RedisProcess } from '../helpers/redis-server.js';
import { RecoveringClient, startRecoveryNode, type RecoveryNode } from '../helpers/recovery-node.js';
import { waitUntil } from '../integration/drop-in.suite.js';

const APP = fileURLToPath(new URL('../fixtures/recovery-node-app.mjs', import.meta.url));

/** A recovery node in a child process (so that it can be killed with SIGKILL); resolves with its pid and URL. */
async function spawnNode(redisUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [APP], { env: { ...process.env, REDIS_URL: redisUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the node did not start within 10 s')), 10_000);
    child.stdout!.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(Number(chunk.toString().trim()));
    });
  });
  return { child, url: `ws://127.0.0.1:${port}/live` };
}

/** Recovery with the history in Redis: several nodes, a crashed node, a long outage of one client. */
describe('connection-state recovery on Redis', () => {
  let redis: RedisProcess;
  let nodes: RecoveryNode[];

  beforeAll(async () => {
    redis = await RedisProcess.start();
    nodes = await Promise.all([0, 1, 2].map(() => startRecoveryNode(new RedisBroker({ redis: redis.url }))));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
    await redis.stop();
  });

  it('a client offline for 30 s while 1,000 messages go to its rooms from 3 nodes gets them all, in order, once: recovered: true', async () => {
    const [a, b, c] = nodes;
    const client = await RecoveringClient.connect(a.url);
    await client.client.request('join', 'one');
    await client.client.request('join', 'two');
    await waitUntil(() => client.positions.has('one') && client.positions.has('two'), 3000);
    // Members elsewhere keep every node publishing to rooms it listens on.
    const others = await Promise.all([b, c].map((node) => RecoveringClient.connect(node.url)));
    await Promise.all(others.map((other) => other.client.request('join', 'one')));
    client.client.socket.terminate();
    await client.client.waitClose();
    const senders = [a, b, c];
    const started = Date.now();
    for (let n = 0; n < 1000; n++) {
      senders[n % 3].gateway.server.to(n % 2 === 0 ? 'one' : 'two').emit('n', n);
      if (n % 100 === 99) {
        await new Promise((resolve) => setTimeout(resolve, 2_700)); // Spread over the 30 s outage.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 30_000 - (Date.now() - started))));
    const answer = await client.reconnect(b.url);
    expect(answer.rooms.one).toMatchObject({ recovered: true, replayed: 500 });
    expect(answer.rooms.two).toMatchObject({ recovered: true, replayed: 500 });
    // Every message once; in the room's order, which is the order Redis ran the three nodes' appends in.
    const one = client.seen.get('one') as number[];
    const two = client.seen.get('two') as number[];
    expect([...one].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i * 2));
    expect([...two].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i * 2 + 1));
    for (const room of ['one', 'two']) {
      const offsets = client.offsets.get(room)!;
      expect(offsets).toEqual(Array.from({ length: 500 }, (_, i) => offsets[0] + i)); // Consecutive, no gap.
    }
    expect(client.duplicates).toBe(0);
    await Promise.all([client, ...others].map((each) => each.client.close()));
  }, 60_000);

  it('keeps one order per room when two nodes publish to it at once: every connection sees strictly increasing offsets, nothing dropped', async () => {
    const [a, b] = nodes;
    const onA = await RecoveringClient.connect(a.url);
    const onB = await RecoveringClient.connect(b.url);
    await Promise.all([onA, onB].map((client) => client.client.request('join', 'contended')));
    await waitUntil(() => onA.positions.has('contended') && onB.positions.has('contended'), 3000);
    for (let n = 0; n < 2000; n++) {
      a.gateway.server.to('contended').emit('n', n);
      b.gateway.server.to('contended').emit('n', n);
    }
    await waitUntil(() => onA.seen.get('contended')?.length === 4000 && onB.seen.get('contended')?.length === 4000, 15_000);
    for (const client of [onA, onB]) {
      const offsets = client.offsets.get('contended')!;
      expect(offsets).toEqual(Array.from({ length: 4000 }, (_, i) => offsets[0] + i));
      expect(client.duplicates).toBe(0);
    }
    await Promise.all([onA, onB].map((client) => client.client.close()));
  }, 30_000);

  it('kill -9 of the node holding 100 clients: they reconnect to another node and recover 100 %', async () => {
    const doomed = await spawnNode(redis.url);
    try {
      const clients = await Promise.all(Array.from({ length: 100 }, () => RecoveringClient.connect(doomed.url)));
      await Promise.all(clients.map((client) => client.client.request('join', 'crash')));
      await waitUntil(() => clients.every((client) => client.positions.has('crash')), 5000);
      const survivor = nodes[0];
      for (let n = 0; n < 10; n++) {
        survivor.gateway.server.to('crash').emit('n', n);
      }
      await waitUntil(() => clients.every((client) => client.seen.get('crash')?.length === 10), 5000);
      doomed.child.kill('SIGKILL');
      await Promise.all(clients.map((client) => client.client.waitClose(5000)));
      for (let n = 10; n < 30; n++) {
        survivor.gateway.server.to('crash').emit('n', n); // While they are away.
      }
      const answers = await Promise.all(clients.map((client) => client.reconnect(nodes[1].url)));
      expect(answers.filter((answer) => answer.rooms.crash?.recovered === true)).toHaveLength(100);
      for (const client of clients) {
        expect(client.seen.get('crash')).toEqual(Array.from({ length: 30 }, (_, n) => n));
        expect(client.duplicates).toBe(0);
      }
      await Promise.all(clients.map((client) => client.client.close()));
    } finally {
      doomed.child.kill('SIGKILL');
    }
  }, 60_000);
});

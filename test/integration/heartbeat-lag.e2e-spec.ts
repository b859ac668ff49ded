import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MessageBody, SubscribeMessage, WebSocketGateway, type OnGatewayDisconnect } from '@nestjs/websockets';
import { SwitchboardAdapter, type GatewayStatsSnapshot } from '../../lib/index.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

const INTERVAL = 1000;
const BLOCK_MS = 1500;
const WANTED = 10_000;
/** The crowd answers each ping this much later, as a client across a network would (loopback has no delay). */
const PONG_DELAY_MS = 300;

/**
 * The crowd, in a child process (one process's fd limit cannot hold both ends
 * of 10,000 connections): `ws` clients that answer every ping, PONG_DELAY_MS
 * late. It reports {connected} once all are open and, asked 'report', how
 * many are still open and how many closed. Inline so that this test owns it.
 */
const CROWD = `
import WebSocket from 'ws';
const [url, countArg, delayArg] = process.argv.slice(1);
const count = Number(countArg);
const delay = Number(delayArg);
const sockets = [];
let closed = 0;
function connect() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { autoPong: false });
    socket.on('ping', (data) => setTimeout(() => socket.readyState === WebSocket.OPEN && socket.pong(data), delay));
    socket.once('open', resolve);
    socket.once('error', reject);
    socket.once('close', () => closed++);
    sockets.push(socket);
  });
}
const batch = 500;
for (let start = 0; start < count; start += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, count - start) }, connect));
}
process.send({ connected: sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length });
process.on('message', (message) => {
  if (message === 'report') {
    process.send({ open: sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length, closed });
  } else if (message === 'close') {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  }
});
`;

@WebSocketGateway({ path: '/crowd' })
class CrowdGateway implements OnGatewayDisconnect {
  static disconnectedAt: number[] = [];

  handleDisconnect(): void {
    CrowdGateway.disconnectedAt.push(performance.now());
  }

  /** Hogs the event loop: nothing is read and no timer fires until it returns. */
  @SubscribeMessage('block')
  block(@MessageBody() ms: number): number {
    const started = performance.now();
    while (performance.now() - started < ms) {
      // busy on purpose
    }
    return performance.now() - started;
  }
}

/**
 * Both ends of every connection are on this machine: this process holds the
 * server's, the child the clients'. Each needs one file descriptor per
 * connection and a test cannot raise the limit (both processes have the same
 * one), so the crowd is sized to fit under it.
 */
function crowdSize(): number {
  const limit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  if (limit === 'unlimited') {
    return WANTED;
  }
  // Headroom for Node, Jest, the listening socket and the other peers.
  return Math.max(100, Math.min(WANTED, Number(limit) - 500));
}

function statsOf(adapter: SwitchboardAdapter, path: string): GatewayStatsSnapshot {
  const stats = adapter.getStats().find((entry) => entry.path === path);
  if (stats === undefined) {
    throw new Error(`no gateway at ${path}`);
  }
  return stats;
}

function nextMessage<T>(child: ChildProcess, timeoutMs: number, what: string, stderr: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`crowd exited with ${code}: ${stderr()}`));
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      reject(new Error(`crowd: no ${what} within ${timeoutMs} ms: ${stderr()}`));
    }, timeoutMs);
    child.once('message', (message) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(message as T);
    });
    child.once('exit', onExit);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('heartbeat under event-loop lag', () => {
  let running: RunningApp;
  let adapter: SwitchboardAdapter;
  let crowd: ChildProcess | undefined;

  afterEach(async () => {
    if (crowd !== undefined && crowd.exitCode === null) {
      const exited = new Promise((resolve) => crowd?.once('exit', resolve));
      crowd.send('close');
      await exited;
    }
    await running.close();
  });

  it('terminates none of 10,000 peers that answer pings when a handler blocks the loop for 1.5 s, and still terminates a silent peer within two intervals of normal time', async () => {
    const size = crowdSize();
    if (size < WANTED) {
      console.warn(`heartbeat-lag: ulimit -n allows a crowd of ${size}, not ${WANTED}`);
    }
    CrowdGateway.disconnectedAt = [];
    running = await startApp({
      providers: [CrowdGateway],
      adapter: (app) => (adapter = new SwitchboardAdapter(app, { heartbeatInterval: INTERVAL })),
    });
    let crowdErrors = '';
    crowd = spawn(process.execPath, ['--input-type=module', '-e', CROWD, running.url('/crowd'), String(size), String(PONG_DELAY_MS)], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    crowd.stderr?.on('data', (chunk: Buffer) => (crowdErrors += chunk.toString()));
    const errors = (): string => crowdErrors;
    // Connecting them keeps both processes busy for seconds, with the heartbeat running.
    const ready = await nextMessage<{ connected: number }>(crowd, 30_000, 'ready', errors);
    expect(ready.connected).toBe(size);
    // A peer in this process, frozen by the block like the server; it answers pings at once.
    const blocker = await TestClient.connect(running.url('/crowd'));
    // Every crowd socket has been seen and pinged before the block.
    await sleep(INTERVAL * 1.2);
    expect(statsOf(adapter, '/crowd')).toMatchObject({ heartbeatTimeouts: 0, connections: size + 1 });
    // Connecting 10,000 clients may itself have made a tick late.
    const lateBefore = statsOf(adapter, '/crowd').heartbeatLateTicks;

    // The silent peer: upgraded, then never a byte (no pong). On the crowd's
    // gateway, and last in its sweep order.
    const { peer } = await RawPeer.open(running.port, '/crowd');
    const openedAt = performance.now();

    // The handler blocks as soon as a tick has pinged everyone, the silent
    // peer last: the crowd's pongs arrive during the block and are still
    // unread when the next tick fires, late; and that tick is the one that
    // would have judged the silent peer.
    const blockedFor = await new Promise<number>((resolve, reject) => {
      const block = (): void => void blocker.request<{ data: number }>('block', BLOCK_MS).then((ack) => resolve(ack.data), reject);
      if (peer.frames.length > 0) {
        block();
      } else {
        peer.socket.once('data', block);
      }
    });
    expect(blockedFor).toBeGreaterThanOrEqual(BLOCK_MS);
    expect(peer.received()[0]).toBe(0x89);

    await waitUntil(() => peer.closed, 4 * INTERVAL);
    // Normal time: the silent peer's life on the server, minus the block.
    // Slack for a loaded machine, where 10,000 pings take a few hundred ms.
    expect(CrowdGateway.disconnectedAt).toHaveLength(1);
    const normal = CrowdGateway.disconnectedAt[0] - openedAt - blockedFor;
    expect(normal).toBeLessThanOrEqual(2 * INTERVAL + 250);

    // Three more intervals: any misjudgement of the crowd would have happened by now.
    await sleep(INTERVAL * 3);
    const stats = statsOf(adapter, '/crowd');
    // The gateway's one heartbeat timeout is the silent peer: none of the peers that answer.
    expect(stats).toMatchObject({ heartbeatTimeouts: 1, connectionsClosed: 1, connections: size + 1 });
    // The block was seen as lag, not merely survived.
    expect(stats.heartbeatLateTicks).toBeGreaterThan(lateBefore);
    expect(blocker.closeCode).toBeUndefined();
    // And from the clients' side: every one of them is still open.
    crowd.send('report');
    await expect(nextMessage(crowd, 5000, 'report', errors)).resolves.toEqual({ open: size, closed: 0 });
    await blocker.close();
  }, 60_000);
});

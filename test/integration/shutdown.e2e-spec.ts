import { spawn, type ChildProcess } from 'node:child_process';
import { connect as connectTcp, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MessageBody, SubscribeMessage, WebSocketGateway, type OnGatewayDisconnect } from '@nestjs/websockets';
import { SwitchboardAdapter, type SwitchboardServer, type SwitchboardSocket } from '../../lib/index.js';
import { createGatewayHarness } from '../../lib/testing/index.js';
import { ackOf } from '../helpers/harness-client.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { startApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

@WebSocketGateway({ path: '/restart', shutdownCloseCode: 1012 })
class RestartGateway {}

@WebSocketGateway({ path: '/live', closeTimeout: 300, drainTimeout: 1000 })
class LiveGateway implements OnGatewayDisconnect {
  static disconnects: unknown[][] = [];
  static sockets: SwitchboardSocket[] = [];
  static server: SwitchboardServer;

  afterInit(server: SwitchboardServer): void {
    LiveGateway.server = server;
  }

  handleConnection(client: SwitchboardSocket): void {
    LiveGateway.sockets.push(client);
  }

  handleDisconnect(_client: unknown, ...args: unknown[]): void {
    LiveGateway.disconnects.push(args);
  }

  @SubscribeMessage('ping')
  ping(): string {
    return 'pong';
  }

  @SubscribeMessage('slow')
  async slow(@MessageBody() ms: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }
}

/** Completes the WebSocket handshake over raw TCP, then never reads or answers anything. */
async function deafPeer(port: number, path: string): Promise<Socket> {
  const socket = connectTcp(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise((resolve) => socket.once('data', resolve));
  socket.on('data', () => undefined); // swallow the close frame without answering it
  return socket;
}

describe('graceful shutdown', () => {
  beforeEach(() => {
    LiveGateway.disconnects = [];
    LiveGateway.sockets = [];
  });

  it('sends 1001 to every client on app.close() and runs handleDisconnect', async () => {
    const harness = await createGatewayHarness({ providers: [LiveGateway] }, { logger: false });
    const clients = await Promise.all([1, 2, 3].map(() => harness.connect('/live')));
    const closes = clients.map((client) => client.expectClose());
    await harness.close();
    for (const closed of closes) {
      expect(await closed).toEqual({ code: 1001, reason: 'SERVER_SHUTTING_DOWN' });
    }
    expect(LiveGateway.disconnects).toHaveLength(3);
  });

  it('lets handlers in flight finish and send their acks before closing; later messages get SERVER_SHUTTING_DOWN', async () => {
    const harness = await createGatewayHarness({ providers: [LiveGateway] }, { logger: false });
    const client = await harness.connect('/live');
    const inFlight = ackOf(client, 'slow', 200, 'in-flight');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = harness.close();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await expect(client.request('ping', undefined, { id: 'late' })).rejects.toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    expect(await inFlight).toEqual({ id: 'in-flight', status: 'ok', data: 200 });
    expect(await client.expectClose()).toEqual({ code: 1001, reason: 'SERVER_SHUTTING_DOWN' });
    await closing;
  });

  it('can announce a restart with 1012', async () => {
    const harness = await createGatewayHarness({ providers: [RestartGateway] }, { logger: false });
    const client = await harness.connect('/restart');
    const closed = client.expectClose();
    await harness.close();
    expect(await closed).toEqual({ code: 1012, reason: 'SERVER_RESTARTING' });
  });

  it("keeps ws's contract: server.close() called with a client open completes when the client leaves", async () => {
    const harness = await createGatewayHarness({ providers: [LiveGateway] }, { logger: false });
    const client = await harness.connect('/live');
    await waitUntil(() => LiveGateway.sockets.length === 1);
    expect(LiveGateway.server.clients.size).toBe(1);
    let closed = false;
    LiveGateway.server.close(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(closed).toBe(false);
    await client.close();
    await waitUntil(() => closed);
    expect(LiveGateway.server.clients.size).toBe(0);
    await harness.close();
  });

  it('tells a client that connected during startup to retry later (closeClient, 1013)', async () => {
    const harness = await createGatewayHarness({ providers: [LiveGateway] }, { logger: false });
    const client = await harness.connect('/live');
    await waitUntil(() => LiveGateway.sockets.length === 1);
    harness.adapter.closeClient(LiveGateway.sockets[0]);
    expect(await client.expectClose()).toEqual({ code: 1013, reason: 'SERVER_NOT_READY' });
    await harness.close();
  });
});

/**
 * A real process (SIGTERM, exiting with no handle left) on a real port, and a
 * raw TCP peer that completes the handshake and then never reads or answers.
 */
describe('graceful shutdown over TCP', () => {
  beforeEach(() => {
    LiveGateway.disconnects = [];
    LiveGateway.sockets = [];
  });

  async function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../fixtures/sigterm-app.mjs', import.meta.url))], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '', ...env },
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim())));
      child.once('exit', (code) => reject(new Error(`app exited early with ${code}`)));
    });
    return { child, port };
  }

  function exitOf(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: string | null } | 'still running'> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
      new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  it("on SIGTERM with Nest's shutdown hooks: drains the handler in flight, then sends 1001", async () => {
    const { child, port } = await startChild({});
    try {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/app`);
      client.send({ event: 'slow', data: 150, id: 1 });
      await new Promise((resolve) => setTimeout(resolve, 30));
      const exited = exitOf(child, 5000);
      child.kill('SIGTERM');
      expect(await client.ack(1)).toEqual({ id: 1, status: 'ok', data: { done: 150 } });
      expect((await client.waitClose()).code).toBe(1001);
      // Nest re-raises the signal once app.close() has finished.
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('leaves no handle behind: after app.close() the process exits on its own', async () => {
    const { child, port } = await startChild({ CLOSE_ON_STDIN_END: '1' });
    try {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/app`);
      const exited = exitOf(child, 5000);
      child.stdin!.end();
      expect((await client.waitClose()).code).toBe(1001);
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('terminates a peer that ignores the close handshake after closeTimeout, and refuses upgrades meanwhile with 503', async () => {
    let adapter!: SwitchboardAdapter;
    const running = await startApp({ providers: [LiveGateway], adapter: (app) => (adapter = new SwitchboardAdapter(app)) });
    const peer = await deafPeer(running.port, '/live');
    await waitUntil(() => LiveGateway.sockets.length === 1);
    const started = Date.now();
    const closing = adapter.close(LiveGateway.server);
    const during = await rawUpgrade(running.port, '/live');
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body).code).toBe('SERVER_SHUTTING_DOWN');
    await closing;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
    await waitUntil(() => peer.destroyed || peer.readableEnded);
    expect(LiveGateway.disconnects).toHaveLength(1);
    // The path is released once closed.
    expect((await rawUpgrade(running.port, '/live')).status).toBe(404);
    peer.destroy();
    await running.close();
  });
});

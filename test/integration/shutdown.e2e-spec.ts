import { connect as connectTcp, type Socket } from 'node:net';
import { SubscribeMessage, WebSocketGateway, type OnGatewayDisconnect } from '@nestjs/websockets';
import { SwitchboardAdapter, type SwitchboardServer, type SwitchboardSocket } from '../../lib/index.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { startApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

@WebSocketGateway({ path: '/live', closeTimeout: 300 })
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
    const running = await startApp({ providers: [LiveGateway] });
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(running.url('/live'))));
    await running.close();
    for (const client of clients) {
      expect(await client.waitClose()).toEqual({ code: 1001, reason: 'Server shutting down' });
    }
    expect(LiveGateway.disconnects).toHaveLength(3);
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

  it('tells a client that connected during startup to retry later (closeClient, 1013)', async () => {
    let adapter!: SwitchboardAdapter;
    const running = await startApp({ providers: [LiveGateway], adapter: (app) => (adapter = new SwitchboardAdapter(app)) });
    const client = await TestClient.connect(running.url('/live'));
    await waitUntil(() => LiveGateway.sockets.length === 1);
    adapter.closeClient(LiveGateway.sockets[0]);
    expect(await client.waitClose()).toEqual({ code: 1013, reason: 'SERVER_NOT_READY' });
    await running.close();
  });
});


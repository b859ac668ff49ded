import { connect as connectTcp, type Socket } from 'node:net';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { SwitchboardAdapter } from '../../lib/index.js';
import { RecordingLogger } from '../helpers/nest-app.js';
import { freePort } from '../helpers/ports.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

/**
 * A browser opens spare TCP connections ahead of need (preconnect) and may
 * never send a byte on them. Node's `server.close()` (and even
 * `closeIdleConnections()`) waits for such a socket until the peer leaves.
 */
async function silentConnection(port: number): Promise<Socket> {
  const socket = connectTcp(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.on('error', () => undefined);
  return socket;
}

/** How long `app.close()` takes, or `'pending'` when it has not returned within `limitMs`. */
async function timeClose(app: INestApplication, limitMs: number): Promise<{ elapsed: number | 'pending'; closing: Promise<void> }> {
  const started = Date.now();
  const closing = app.close();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    closing.then(() => Date.now() - started),
    new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), limitMs))),
  ]).finally(() => clearTimeout(timer));
  return { elapsed: outcome, closing };
}

async function startApp(
  providers: unknown[],
  options: { forceCloseConnections?: boolean; listen?: boolean; logger?: LoggerService } = {},
): Promise<{ app: INestApplication; port: number }> {
  const moduleRef = await Test.createTestingModule({ providers: providers as never[] }).compile();
  const app = moduleRef.createNestApplication({ logger: options.logger ?? false, forceCloseConnections: options.forceCloseConnections });
  app.useWebSocketAdapter(new SwitchboardAdapter(app));
  if (options.listen === false) {
    await app.init();
    return { app, port: 0 };
  }
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port };
}

describe('bounded shutdown with idle TCP connections', () => {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) {
      socket.destroy();
    }
  });

  it("a gateway on its own port: app.close() returns at once although a connection never sent a byte, and WebSocket clients still get 1001", async () => {
    const port = await freePort();
    @WebSocketGateway(port, { path: '/own' })
    class OwnPortGateway {
      @SubscribeMessage('ping')
      ping(): string {
        return 'pong';
      }
    }
    const { app } = await startApp([OwnPortGateway], { listen: false });
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/own`);
    const idle = await silentConnection(port);
    sockets.push(idle);
    const { elapsed } = await timeClose(app, 3000);
    expect(elapsed).not.toBe('pending');
    expect(elapsed).toBeLessThan(3000);
    expect((await client.waitClose()).code).toBe(1001);
    await waitUntil(() => idle.destroyed || idle.readableEnded);
  });

  it('a gateway on its own port: a handshake still being authenticated does not hold app.close() for the auth timeout', async () => {
    const port = await freePort();
    // Settled by the test at its end, so no auth timer outlives it.
    let release: (() => void) | undefined;
    @WebSocketGateway(port, { path: '/slow-auth', auth: { authenticate: () => new Promise((resolve) => (release = () => resolve(null))), timeout: 10_000 } })
    class SlowAuthGateway {}
    const { app } = await startApp([SlowAuthGateway], { listen: false });
    const peer = await silentConnection(port);
    sockets.push(peer);
    peer.write(
      'GET /slow-auth HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await waitUntil(() => release !== undefined);
    try {
      const { elapsed } = await timeClose(app, 3000);
      expect(elapsed).not.toBe('pending');
      expect(elapsed).toBeLessThan(3000);
      await waitUntil(() => peer.destroyed || peer.readableEnded);
    } finally {
      release?.();
    }
  });

  @WebSocketGateway({ path: '/app' })
  class AppPortGateway {}

  it("the app's port with Nest's forceCloseConnections: true: app.close() returns at once, WebSocket clients still get 1001 first", async () => {
    const { app, port } = await startApp([AppPortGateway], { forceCloseConnections: true });
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/app`);
    sockets.push(await silentConnection(port));
    const { elapsed } = await timeClose(app, 3000);
    expect(elapsed).not.toBe('pending');
    expect(elapsed).toBeLessThan(3000);
    expect((await client.waitClose()).code).toBe(1001);
  });

  // What the README says about the app's port: its HTTP server is Nest's, and
  // without forceCloseConnections Node waits for the silent socket. WebSocket
  // clients are closed all the same, the adapter logs why app.close() has not
  // returned, and app.close() returns once the peer leaves.
  it("the app's port without forceCloseConnections: WebSocket clients get 1001 at once, app.close() waits for the silent socket and a warning says what to set", async () => {
    const logger = new RecordingLogger();
    const { app, port } = await startApp([AppPortGateway], { logger });
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/app`);
    const idle = await silentConnection(port);
    sockets.push(idle);
    let returned = false;
    const closing = app.close().then(() => (returned = true));
    expect((await client.waitClose()).code).toBe(1001);
    const warnings = (): string[] => logger.entries.filter((entry) => entry.level === 'warn').map((entry) => String(entry.message));
    // The adapter warns 3 s after its gateways closed, while Node still waits.
    await waitUntil(() => warnings().length > 0, 8000);
    expect(returned).toBe(false);
    expect(warnings()).toEqual([expect.stringContaining('forceCloseConnections: true')]);
    idle.destroy();
    await closing;
  });

  it("the app's port: no warning when the HTTP server closes in time", async () => {
    const logger = new RecordingLogger();
    const { app, port } = await startApp([AppPortGateway], { logger });
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/app`);
    await fetch(`http://127.0.0.1:${port}/`); // a keep-alive connection: Node's close() ends it by itself
    const { elapsed } = await timeClose(app, 3000);
    expect(elapsed).not.toBe('pending');
    expect((await client.waitClose()).code).toBe(1001);
    await new Promise((resolve) => setTimeout(resolve, 3200));
    expect(logger.entries.filter((entry) => entry.level === 'warn')).toEqual([]);
  });
});

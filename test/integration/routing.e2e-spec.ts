import { createServer } from 'node:http';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import WebSocket, { WebSocketServer } from 'ws';
import { SwitchboardAdapter, SwitchboardSocket } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness } from '../../lib/testing/index.js';
import { EchoGateway } from '../fixtures/echo.gateway.js';
import { FilesGateway, RoomsGateway, RpcGateway } from '../fixtures/protocol.gateways.js';
import { expectUpgraded, refusalOf } from '../helpers/harness-client.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';
import { freePort } from '../helpers/ports.js';
import { TestClient } from '../helpers/ws-client.js';

describe('routing upgrades on the application port', () => {
  let harness: GatewayHarness;

  beforeAll(async () => {
    harness = await createGatewayHarness({ providers: [RpcGateway, RoomsGateway, FilesGateway] }, { logger: false });
  });

  afterAll(() => harness.close());

  it('accepts a trailing slash', async () => {
    await expectUpgraded(harness.connect('/rpc/'));
    const client = await harness.connect('/rpc/?x=1');
    await expect(client.request('whoami', null)).resolves.toMatchObject({ path: '/rpc/', query: { x: '1' } });
    await client.close();
  });

  it('is case-sensitive and exact for static paths', async () => {
    expect((await refusalOf(harness.connect('/RPC'))).status).toBe(404);
    expect((await refusalOf(harness.connect('/rpc/extra'))).status).toBe(404);
  });

  it('parses path parameters, decoded, and the query string once at the handshake', async () => {
    const client = await harness.connect('/rooms/blue%20room?invite=abc');
    await expect(client.request('where', null)).resolves.toEqual({
      path: '/rooms/blue%20room',
      route: '/rooms/:room',
      params: { room: 'blue room' },
      query: { invite: 'abc' },
    });
    await client.close();
  });

  it('matches a pattern path with a trailing slash, but not a missing parameter', async () => {
    await expectUpgraded(harness.connect('/rooms/42/'));
    expect((await refusalOf(harness.connect('/rooms/'))).status).toBe(404);
    expect((await refusalOf(harness.connect('/rooms/42/extra'))).status).toBe(404);
  });

  it('gives wildcard parameters as arrays of segments', async () => {
    const client = await harness.connect('/files/a/b/c.txt');
    await expect(client.request('where', null)).resolves.toEqual({ params: { rest: ['a', 'b', 'c.txt'] } });
    await client.close();
  });

  it('answers a malformed percent-encoding in a pattern path with 400', async () => {
    expect((await refusalOf(harness.connect('/rooms/%E0%A4%A'))).status).toBe(400);
  });
});

/** Facts of the HTTP answer and of the real socket: the refusal's headers, the TCP peer's address. */
describe('routing upgrades on the application port, over TCP', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ providers: [RpcGateway, RoomsGateway, FilesGateway] });
  });

  afterAll(() => running.close());

  it('refuses an unknown path with HTTP 404 and a JSON body', async () => {
    const answer = await rawUpgrade(running.port, '/nowhere');
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toContain('application/json');
    expect(JSON.parse(answer.body)).toEqual({ code: 'NOT_FOUND', message: 'No WebSocket gateway at this path.' });
  });

  it('hands out real ws WebSockets, extended with the switchboard fields', async () => {
    EchoGateway.log.connections = [];
    const echo = await startApp({ providers: [EchoGateway] });
    try {
      const client = await TestClient.connect(echo.url('/echo?x=1'));
      const [{ client: socket }] = EchoGateway.log.connections;
      expect(socket).toBeInstanceOf(WebSocket);
      expect(socket).toBeInstanceOf(SwitchboardSocket);
      const extended = socket as SwitchboardSocket;
      expect(extended.id).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(extended.handshake).toMatchObject({ path: '/echo', route: '/echo', query: { x: '1' }, remoteAddress: '127.0.0.1' });
      expect(extended.data).toEqual({});
      await client.close();
    } finally {
      await echo.close();
    }
  });
});

describe('gateways on their own port', () => {
  it('serves a gateway without a path at / only, and answers 404 elsewhere', async () => {
    const port = await freePort();
    @WebSocketGateway(port)
    class RootGateway {
      @SubscribeMessage('hi')
      hi(@MessageBody() data: unknown): unknown {
        return { event: 'hi', data };
      }
    }
    const running = await startApp({ providers: [RootGateway], listen: false });
    try {
      expect((await rawUpgrade(port, '/')).status).toBe(101);
      expect((await rawUpgrade(port, '/anything')).status).toBe(404);
      const client = await TestClient.connect(`ws://127.0.0.1:${port}`);
      client.send({ event: 'hi', data: 1 });
      expect(await client.event('hi')).toEqual({ event: 'hi', data: 1 });
      await client.close();
    } finally {
      await running.close();
    }
  });

  it('accepts every path with an explicit wildcard pattern', async () => {
    const port = await freePort();
    @WebSocketGateway(port, { path: '/{*any}' })
    class AnyPathGateway {
      @SubscribeMessage('hi')
      hi(): string {
        return 'hi';
      }
    }
    const running = await startApp({ providers: [AnyPathGateway], listen: false });
    try {
      expect((await rawUpgrade(port, '/')).status).toBe(101);
      expect((await rawUpgrade(port, '/deep/path?q=1')).status).toBe(101);
    } finally {
      await running.close();
    }
  });

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const port = await freePort();
    @WebSocketGateway(port, { path: '/ws' })
    class PortGateway {}
    const running = await startApp({ providers: [PortGateway], listen: false });
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ws`);
      expect(response.status).toBe(426);
      expect(await response.json()).toMatchObject({ code: 'UPGRADE_REQUIRED' });
    } finally {
      await running.close();
    }
  });
});

describe('adapter construction', () => {
  it('works with new SwitchboardAdapter(httpServer), like WsAdapter', async () => {
    const httpServer = createServer();
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const port = (httpServer.address() as { port: number }).port;
    const moduleRef = await Test.createTestingModule({ providers: [RpcGateway] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new SwitchboardAdapter(httpServer));
    await app.init();
    try {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/rpc`);
      expect((await client.request('add', { a: 1, b: 2 })).data).toBe(3);
      await client.close();
    } finally {
      await app.close();
      expect(httpServer.listenerCount('upgrade')).toBe(0);
      await new Promise((resolve) => httpServer.close(resolve));
    }
  });

  it('leaves unknown paths to other upgrade listeners on a shared server', async () => {
    const running = await startApp({ providers: [RpcGateway] });
    const httpServer = running.app.getHttpServer();
    const other = new WebSocketServer({ noServer: true });
    const foreign = (request: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void => {
      if (request.url === '/graphql') {
        other.handleUpgrade(request, socket, head, (ws) => ws.send('from the other listener'));
      }
    };
    httpServer.on('upgrade', foreign);
    try {
      const client = new WebSocket(running.url('/graphql'));
      const message = await new Promise<string>((resolve) => client.once('message', (data) => resolve(String(data))));
      expect(message).toBe('from the other listener');
      client.terminate();
    } finally {
      httpServer.off('upgrade', foreign);
      other.close();
      await running.close();
    }
  });
});

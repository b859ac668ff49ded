import { createServer as createNetServer } from 'node:net';
import type { INestApplication, WebSocketAdapter } from '@nestjs/common';
import WebSocket from 'ws';
import { WsAdapter } from '@nestjs/platform-ws';
import { EchoGateway } from '../fixtures/echo.gateway.js';
import { createMultiPathGateways, createVerifyingGateway } from '../fixtures/multi-path.gateways.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { freePort } from '../helpers/ports.js';
import { startApp, type AdapterFactory, type RunningApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';

/**
 * Behaviour an application written for `@nestjs/platform-ws` relies on. The
 * same suite runs against `WsAdapter` and `SwitchboardAdapter`: whatever
 * passes on the first must pass on the second.
 */
export function dropInSuite(
  name: string,
  adapter: AdapterFactory,
  makeParserAdapter: (app: INestApplication, parser: (data: unknown) => unknown) => ReturnType<AdapterFactory>,
  makeBareAdapter: () => WebSocketAdapter,
): void {
  describe(`drop-in behaviour: ${name}`, () => {
    let running: RunningApp;
    const clients: TestClient[] = [];

    async function connect(path = '/echo'): Promise<TestClient> {
      const client = await TestClient.connect(running.url(path));
      clients.push(client);
      return client;
    }

    beforeEach(async () => {
      EchoGateway.log.connections = [];
      EchoGateway.log.disconnections = [];
      running = await startApp({ providers: [EchoGateway], adapter });
    });

    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await running.close();
    });

    it('hands the same server to afterInit and @WebSocketServer()', () => {
      const gateway = running.app.get(EchoGateway);
      expect(EchoGateway.log.initServer).toBeDefined();
      expect(gateway.server).toBe(EchoGateway.log.initServer);
    });

    it('calls handleConnection with the client and the upgrade request', async () => {
      await connect('/echo?room=1');
      expect(EchoGateway.log.connections).toHaveLength(1);
      expect(EchoGateway.log.connections[0].url).toBe('/echo?room=1');
      expect(typeof EchoGateway.log.connections[0].client.send).toBe('function');
    });

    it('replies to a {event, data} message with the handler WsResponse', async () => {
      const client = await connect();
      client.send({ event: 'echo', data: { text: 'hi', n: [1, 2] } });
      expect(await client.event('echo')).toEqual({ event: 'echo', data: { text: 'hi', n: [1, 2] } });
    });

    it('sends a plain return value as JSON', async () => {
      const client = await connect();
      client.send({ event: 'plain', data: { a: 1 } });
      expect(await client.waitFor((value) => value?.a === 1)).toEqual({ a: 1 });
    });

    it('sends the result of an async handler', async () => {
      const client = await connect();
      client.send({ event: 'async', data: 7 });
      expect(await client.event('async')).toEqual({ event: 'async', data: 7 });
    });

    it('sends nothing for a void handler', async () => {
      const client = await connect();
      client.send({ event: 'void', data: 1 });
      expect(await client.framesWithin(100)).toEqual([]);
    });

    it('sends every value of an Observable result, in order', async () => {
      const client = await connect();
      client.send({ event: 'stream', data: 3 });
      await client.waitFor((value) => value?.event === 'tick' && value.data === 2);
      const ticks = client.rawFrames.map((frame) => JSON.parse(frame.data.toString())).filter((v) => v.event === 'tick');
      expect(ticks.map((v) => v.data)).toEqual([0, 1, 2]);
    });

    it('lets a handler write to the client with client.send', async () => {
      const client = await connect();
      client.send({ event: 'raw', data: 'x' });
      expect(await client.event('raw')).toEqual({ event: 'raw', data: 'x' });
    });

    it('keeps serving messages after a handler throws or rejects', async () => {
      const client = await connect();
      client.send({ event: 'throw' });
      client.send({ event: 'reject' });
      client.send({ event: 'echo', data: 'still alive' });
      expect(await client.event('echo')).toEqual({ event: 'echo', data: 'still alive' });
    });

    it("answers a denied guard with Nest's exception event", async () => {
      const client = await connect();
      client.send({ event: 'guarded', data: 1 });
      const exception = await client.event('exception');
      expect(exception.data).toMatchObject({ status: 'error', message: 'Forbidden resource' });
    });

    it('calls handleDisconnect when the client leaves', async () => {
      const client = await connect();
      await client.close();
      await waitUntil(() => EchoGateway.log.disconnections.length === 1);
      expect(EchoGateway.log.disconnections[0].client).toBe(EchoGateway.log.connections[0].client);
    });

    it('serves several gateways on different paths of one port, and frees the port on close', async () => {
      const port = await freePort();
      const app = await startApp({ providers: createMultiPathGateways(port), adapter, listen: false });
      try {
        const alpha = await TestClient.connect(`ws://127.0.0.1:${port}/alpha`);
        const beta = await TestClient.connect(`ws://127.0.0.1:${port}/beta`);
        alpha.send({ event: 'who', data: 1 });
        beta.send({ event: 'who', data: 2 });
        expect((await alpha.event('who')).data).toEqual({ gateway: 'alpha', data: 1 });
        expect((await beta.event('who')).data).toEqual({ gateway: 'beta', data: 2 });
        await Promise.all([alpha.close(), beta.close()]);
      } finally {
        await app.close();
      }
      await expect(canListen(port)).resolves.toBe(true);
    });

    it('passes ws server options (verifyClient) through', async () => {
      const app = await startApp({ providers: [createVerifyingGateway()], adapter });
      try {
        const refused = await rawUpgrade(app.port, '/verified');
        expect(refused.status).toBe(401);
        const client = await TestClient.connect(app.url('/verified'), { headers: { 'x-token': 'let-me-in' } });
        client.send({ event: 'ping' });
        expect(await client.event('pong')).toEqual({ event: 'pong', data: 'ok' });
        await client.close();
      } finally {
        await app.close();
      }
    });

    it('uses a custom messageParser', async () => {
      const app = await startApp({
        providers: [EchoGateway],
        adapter: (nestApp) =>
          makeParserAdapter(nestApp, (data) => {
            const [event, payload] = String(data).split('|');
            return { event, data: payload };
          }),
      });
      try {
        const client = await TestClient.connect(app.url('/echo'));
        client.send('echo|piped');
        expect(await client.event('echo')).toEqual({ event: 'echo', data: 'piped' });
        await client.close();
      } finally {
        await app.close();
      }
    });

    // Messages without an id, with zero options: what platform-ws does is silence.
    it.each([
      ['malformed JSON', '{"event": "echo", '],
      ['a JSON value that is not an envelope', '[1, 2, 3]'],
      ['a string', '"hello"'],
      ['an envelope without an event', '{"data": 1}'],
      ['an unknown event', '{"event": "no-such-handler", "data": 1}'],
    ])('stays silent on %s and keeps the connection', async (_label, frame) => {
      const client = await connect();
      client.send(frame);
      expect(await client.framesWithin(150)).toEqual([]);
      client.send({ event: 'echo', data: 'after' });
      expect(await client.event('echo')).toEqual({ event: 'echo', data: 'after' });
    });

    it('dispatches a binary frame that carries a JSON envelope', async () => {
      const client = await connect();
      client.socket.send(Buffer.from(JSON.stringify({ event: 'echo', data: 'from a Buffer' })), { binary: true });
      expect(await client.event('echo')).toEqual({ event: 'echo', data: 'from a Buffer' });
    });

    it('stays silent when a custom messageParser throws, and keeps the connection', async () => {
      const app = await startApp({
        providers: [EchoGateway],
        adapter: (nestApp) =>
          makeParserAdapter(nestApp, (data) => {
            const text = String(data);
            if (text.startsWith('!')) {
              throw new Error('the parser refuses this frame');
            }
            return JSON.parse(text);
          }),
      });
      try {
        const client = await TestClient.connect(app.url('/echo'));
        client.send('!boom');
        expect(await client.framesWithin(150)).toEqual([]);
        client.send({ event: 'echo', data: 'still here' });
        expect(await client.event('echo')).toEqual({ event: 'echo', data: 'still here' });
        await client.close();
      } finally {
        await app.close();
      }
    });

    it('opens a standalone server on a free port when built without an app', async () => {
      const bare = makeBareAdapter();
      const server = bare.create(0, { path: '/standalone' }) as { address(): { port: number } | string | null };
      const connected: unknown[] = [];
      bare.bindClientConnect(server, (client: unknown) => connected.push(client));
      try {
        await waitUntil(() => typeof server.address() === 'object' && server.address() !== null);
        const { port } = server.address() as { port: number };
        expect(port).toBeGreaterThan(0);
        const socket = new WebSocket(`ws://127.0.0.1:${port}/standalone`);
        await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
        await waitUntil(() => connected.length === 1);
        socket.close();
        await new Promise((resolve) => socket.once('close', resolve));
      } finally {
        await bare.close(server);
        await (bare as { dispose?: () => Promise<void> }).dispose?.();
      }
    });

    it('takes its listener off the application server on close', async () => {
      const httpServer = running.app.getHttpServer();
      expect(httpServer.listenerCount('upgrade')).toBe(1);
      await running.app.close();
      expect(httpServer.listenerCount('upgrade')).toBe(0);
      running = await startApp({ providers: [EchoGateway], adapter });
    });
  });
}

export const nestWsAdapter: AdapterFactory = (app) => new WsAdapter(app);

export async function waitUntil(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('condition not met in time');
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

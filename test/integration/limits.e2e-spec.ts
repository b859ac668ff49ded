import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import WebSocket from 'ws';
import type { SwitchboardServer, SwitchboardSocket } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { ackOf, refusalOf } from '../helpers/harness-client.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

@WebSocketGateway({ path: '/limited', rateLimit: { messagesPerSecond: 5, burst: 5, closeAfter: 20 } })
class RateLimitedGateway {
  @SubscribeMessage('hit')
  hit(@MessageBody() n: number): number {
    return n;
  }
}

@WebSocketGateway({ path: '/capped', maxConnections: 2 })
class CappedGateway {}

@WebSocketGateway({ path: '/per-ip', maxConnectionsPerIp: 1 })
class PerIpGateway {}

function backpressureGateway(path: string, policy: 'skip' | 'close') {
  @WebSocketGateway({ path, backpressure: { highWaterMark: 64 * 1024, closeAt: 1024 * 1024, policy }, closeTimeout: 200 })
  class BackpressureGateway {
    @WebSocketServer() server!: SwitchboardServer;

    @SubscribeMessage('join')
    join(@ConnectedSocket() client: SwitchboardSocket): string {
      client.join('feed');
      return client.id;
    }
  }
  return BackpressureGateway;
}
const SkipGateway = backpressureGateway('/skip', 'skip');
const CloseGateway = backpressureGateway('/close-slow', 'close');

describe('limits', () => {
  let harness: GatewayHarness;

  beforeAll(async () => {
    harness = await createGatewayHarness({ providers: [RateLimitedGateway, CappedGateway, PerIpGateway] }, { logger: false });
  });
  afterAll(() => harness.close());

  describe('message rate limit (token bucket)', () => {
    it('answers messages over the limit with RATE_LIMITED and accepts again after a refill', async () => {
      const client = await harness.connect('/limited');
      const acks = await Promise.all(Array.from({ length: 8 }, (_, i) => ackOf(client, 'hit', i, i)));
      expect(acks.filter((ack) => ack.status === 'ok').map((ack) => ack.data)).toEqual([0, 1, 2, 3, 4]);
      expect(acks.slice(5).map((ack) => ack.error?.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
      client.send('hit', 'no id');
      expect((await client.expectEvent<{ code: string }>('exception')).code).toBe('RATE_LIMITED');
      await new Promise((resolve) => setTimeout(resolve, 450)); // two tokens back
      await expect(client.request('hit', 42)).resolves.toBe(42);
      expect(client.readyState).toBe(WebSocket.OPEN);
      await client.close();
    });

    it('closes persistent abuse with 1008', async () => {
      const client = await harness.connect('/limited');
      for (let i = 0; i < 100; i++) {
        client.send('hit', i);
      }
      expect(await client.expectClose(undefined, { timeout: 3000 })).toEqual({ code: 1008, reason: 'RATE_LIMITED' });
    });

    it('counts every frame, also ones that cannot be decoded: a garbage flood is closed with 1008', async () => {
      const client = await harness.connect('/limited');
      for (let i = 0; i < 2000; i++) {
        client.sendRaw(i % 2 === 0 ? '{garbage' : '[1,2,3]');
      }
      expect(await client.expectClose(undefined, { timeout: 3000 })).toEqual({ code: 1008, reason: 'RATE_LIMITED' });
      // The garbage got no answers (silent by default); only the close.
      expect(client.messages).toHaveLength(0);
    });
  });

  describe('connection caps, refused before the upgrade', () => {
    it('answers 503 over maxConnections, and admits again when a slot frees', async () => {
      const first = await harness.connect('/capped');
      const second = await harness.connect('/capped');
      const refused = await refusalOf(harness.connect('/capped'));
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ code: 'TOO_MANY_CONNECTIONS' });
      await first.close();
      const third = await retryConnect(() => harness.connect('/capped'));
      await Promise.all([second.close(), third.close()]);
    });

    it('counts maxConnectionsPerIp by the peer address: another address is admitted, the same one answered 429', async () => {
      const first = await harness.connect('/per-ip', { remoteAddress: '203.0.113.1' });
      const refused = await refusalOf(harness.connect('/per-ip', { remoteAddress: '203.0.113.1' }));
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 'RATE_LIMITED' });
      const elsewhere = await harness.connect('/per-ip', { remoteAddress: '203.0.113.2' });
      await Promise.all([first.close(), elsewhere.close()]);
    });
  });
});

/**
 * On a real port: the per-IP cap as the kernel reports the peer, and
 * clients that stop reading (a paused TCP socket fills the kernel's buffers,
 * then the server's).
 */
describe('limits over TCP', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ providers: [PerIpGateway, SkipGateway, CloseGateway] });
  });
  afterAll(() => running.close());

  describe('connection caps, refused before the upgrade', () => {
    it('answers 429 over maxConnectionsPerIp', async () => {
      const first = await TestClient.connect(running.url('/per-ip'));
      const refused = await rawUpgrade(running.port, '/per-ip');
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'RATE_LIMITED' });
      await first.close();
      const again = await retryConnect(() => TestClient.connect(running.url('/per-ip')));
      await again.close();
    });
  });

  describe('slow consumers', () => {
    async function slowAndFast(path: string): Promise<{ slow: WebSocket; slowId: string; fast: TestClient; server: SwitchboardServer }> {
      const slow = new WebSocket(running.url(path));
      await new Promise((resolve) => slow.once('open', resolve));
      const slowId = await new Promise<string>((resolve) => {
        slow.once('message', (data) => resolve(JSON.parse(String(data)).data));
        slow.send(JSON.stringify({ event: 'join', id: 1 }));
      });
      // Stop reading: the kernel buffers fill, then the server's.
      (slow as unknown as { _socket: import('node:net').Socket })._socket.pause();
      const fast = await TestClient.connect(running.url(path));
      await fast.request('join', null);
      const gateway = running.app.get(path === '/skip' ? SkipGateway : CloseGateway) as { server: SwitchboardServer };
      return { slow, slowId, fast, server: gateway.server };
    }

    it("skips a client that stops reading, keeps its buffer bounded, and keeps serving the others ('skip')", async () => {
      const { slow, slowId, fast, server } = await slowAndFast('/skip');
      const chunk = 'x'.repeat(16 * 1024);
      let maxBuffered = 0;
      const slowSocket = server.clientById(slowId)!;
      for (let i = 0; i < 600; i++) {
        server.to('feed').emit('chunk', chunk);
        maxBuffered = Math.max(maxBuffered, slowSocket.bufferedAmount);
        if (i % 50 === 0) {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      await waitUntil(() => fast.rawFrames.length >= 601, 10000);
      expect(fast.rawFrames.filter((frame) => frame.data.toString().includes('"chunk"'))).toHaveLength(600);
      // ~10 MB were broadcast; the slow client's buffer stayed near the high-water mark.
      expect(maxBuffered).toBeLessThan(64 * 1024 + 20 * 1024);
      expect(server.getStats().slowConsumerSkips).toBeGreaterThan(0);
      expect(slow.readyState).toBe(WebSocket.OPEN);
      slow.terminate();
      await fast.close();
    });

    it("closes a slow consumer with 1013 and frees it ('close')", async () => {
      const { slow, slowId, fast, server } = await slowAndFast('/close-slow');
      const chunk = 'y'.repeat(16 * 1024);
      for (let i = 0; i < 2000 && server.clientById(slowId) !== undefined; i++) {
        server.to('feed').emit('chunk', chunk);
        if (i % 20 === 0) {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      await waitUntil(() => server.clientById(slowId) === undefined, 3000);
      expect(server.getStats().slowConsumerCloses).toBe(1);
      fast.send({ event: 'join', id: 'still-here' });
      expect((await fast.ack('still-here')).status).toBe('ok');
      slow.terminate();
      await fast.close();
    });
  });
});

/** Slots free when the server sees the close, a moment after the client's. */
async function retryConnect<T extends GatewayTestClient | TestClient>(connect: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      if (attempt > 20) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { SwitchboardServer, SwitchboardSocket } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';

@WebSocketGateway({ path: '/plain' })
class PlainGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): unknown {
    return { event: 'echo', data };
  }
}

@WebSocketGateway({ path: '/small-window', compression: { windowBits: 10 } })
class SmallWindowGateway {}

@WebSocketGateway({ path: '/deflate', compression: { threshold: 256 } })
class DeflateGateway {
  @WebSocketServer() server!: SwitchboardServer;

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): unknown {
    return { event: 'echo', data };
  }

  @SubscribeMessage('raw-push')
  rawPush(@ConnectedSocket() client: SwitchboardSocket, @MessageBody() body: { data: string; compress: boolean }): boolean {
    return client.sendEvent('pushed', body.data, { compress: body.compress });
  }

  @SubscribeMessage('join')
  join(@ConnectedSocket() client: SwitchboardSocket): void {
    client.join('all');
  }

  @SubscribeMessage('fanout')
  fanout(@MessageBody() body: { data: string; compress: boolean }): number {
    return this.server.to('all').compress(body.compress).emit('fanned', body.data);
  }
}

/**
 * Bytes the client has read from its connection: the size on the wire. The
 * harness's in-memory socket counts them as a TCP socket does (`bytesRead`).
 */
function wireBytes(client: GatewayTestClient): number {
  return (client.socket as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
}

describe('permessage-deflate', () => {
  let harness: GatewayHarness;
  const compressible = 'abcabcabc'.repeat(2000); // 18 KB that deflate shrinks to almost nothing

  beforeAll(async () => {
    harness = await createGatewayHarness({ providers: [PlainGateway, DeflateGateway, SmallWindowGateway] }, { logger: false });
  });
  afterAll(() => harness.close());

  it('is off by default: not negotiated even when the client offers it', async () => {
    const client = await harness.connect('/plain');
    expect(client.socket.extensions).toBe('');
    await client.close();
  });

  it('is negotiated when enabled, and a large reply travels compressed', async () => {
    const client = await harness.connect('/deflate');
    expect(client.socket.extensions).toContain('permessage-deflate');
    const before = wireBytes(client);
    client.send('echo', compressible);
    await expect(client.expectEvent('echo')).resolves.toBe(compressible);
    expect(wireBytes(client) - before).toBeLessThan(compressible.length / 10);
    await client.close();
  });

  it('sends messages under the threshold uncompressed', async () => {
    const client = await harness.connect('/deflate');
    const small = 'x'.repeat(200); // with the envelope still under 256 bytes
    const before = wireBytes(client);
    client.send('echo', small);
    await expect(client.expectEvent('echo')).resolves.toBe(small);
    expect(wireBytes(client) - before).toBeGreaterThan(small.length);
    await client.close();
  });

  it('honours a per-message override', async () => {
    const client = await harness.connect('/deflate');
    let before = wireBytes(client);
    client.send('raw-push', { data: compressible, compress: false });
    await expect(client.expectEvent('pushed')).resolves.toBe(compressible);
    expect(wireBytes(client) - before).toBeGreaterThan(compressible.length);
    before = wireBytes(client);
    client.send('raw-push', { data: compressible, compress: true });
    await expect(client.expectEvent('pushed')).resolves.toBe(compressible);
    expect(wireBytes(client) - before).toBeLessThan(compressible.length / 10);
    await client.close();
  });

  it('delivers broadcasts to compressing clients, compressed on request and plain by default', async () => {
    const a = await harness.connect('/deflate');
    const b = await harness.connect('/deflate', { perMessageDeflate: false });
    a.send('join');
    b.send('join');
    await new Promise((resolve) => setTimeout(resolve, 30));
    let before = wireBytes(a);
    a.send('fanout', { data: compressible, compress: true });
    await expect(a.expectEvent('fanned')).resolves.toBe(compressible);
    await expect(b.expectEvent('fanned')).resolves.toBe(compressible);
    expect(wireBytes(a) - before).toBeLessThan(compressible.length / 10);
    before = wireBytes(a);
    a.send('fanout', { data: compressible, compress: false });
    await expect(a.expectEvent('fanned')).resolves.toBe(compressible);
    expect(wireBytes(a) - before).toBeGreaterThan(compressible.length);
    await Promise.all([a.close(), b.close()]);
  });
});

/** The negotiated parameters are in the 101 response's headers, which only a raw upgrade request shows. */
describe('permessage-deflate: negotiation headers', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ providers: [SmallWindowGateway] });
  });
  afterAll(() => running.close());

  it('negotiates the configured window size', async () => {
    const answer = await rawUpgrade(running.port, '/small-window', { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' });
    expect(answer.status).toBe(101);
    expect(answer.headers['sec-websocket-extensions']).toContain('server_max_window_bits=10');
    expect(answer.headers['sec-websocket-extensions']).toContain('client_max_window_bits=10');
  });
});

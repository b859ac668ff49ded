import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { SwitchboardServer, SwitchboardSocket } from '../../lib/index.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';

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

/** Bytes the client read from TCP since a mark: the size on the wire. */
function wireBytes(client: TestClient): number {
  return (client.socket as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
}

describe('permessage-deflate', () => {
  let running: RunningApp;
  const compressible = 'abcabcabc'.repeat(2000); // 18 KB that deflate shrinks to almost nothing

  beforeAll(async () => {
    running = await startApp({ providers: [PlainGateway, DeflateGateway, SmallWindowGateway] });
  });
  afterAll(() => running.close());

  it('is off by default: not negotiated even when the client offers it', async () => {
    const client = await TestClient.connect(running.url('/plain'));
    expect(client.socket.extensions).toBe('');
    await client.close();
  });

  it('is negotiated when enabled, and a large reply travels compressed', async () => {
    const client = await TestClient.connect(running.url('/deflate'));
    expect(client.socket.extensions).toContain('permessage-deflate');
    const before = wireBytes(client);
    client.send({ event: 'echo', data: compressible });
    expect((await client.event('echo')).data).toBe(compressible);
    expect(wireBytes(client) - before).toBeLessThan(compressible.length / 10);
    await client.close();
  });

  it('negotiates the configured window size', async () => {
    const answer = await rawUpgrade(running.port, '/small-window', { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' });
    expect(answer.status).toBe(101);
    expect(answer.headers['sec-websocket-extensions']).toContain('server_max_window_bits=10');
    expect(answer.headers['sec-websocket-extensions']).toContain('client_max_window_bits=10');
  });

  it('sends messages under the threshold uncompressed', async () => {
    const client = await TestClient.connect(running.url('/deflate'));
    const small = 'x'.repeat(200); // with the envelope still under 256 bytes
    const before = wireBytes(client);
    client.send({ event: 'echo', data: small });
    expect((await client.event('echo')).data).toBe(small);
    expect(wireBytes(client) - before).toBeGreaterThan(small.length);
    await client.close();
  });

  it('honours a per-message override', async () => {
    const client = await TestClient.connect(running.url('/deflate'));
    let before = wireBytes(client);
    client.send({ event: 'raw-push', data: { data: compressible, compress: false } });
    expect((await client.event('pushed')).data).toBe(compressible);
    expect(wireBytes(client) - before).toBeGreaterThan(compressible.length);
    before = wireBytes(client);
    client.send({ event: 'raw-push', data: { data: compressible, compress: true } });
    expect((await client.event('pushed')).data).toBe(compressible);
    expect(wireBytes(client) - before).toBeLessThan(compressible.length / 10);
    await client.close();
  });

  it('delivers broadcasts to compressing clients, compressed on request and plain by default', async () => {
    const a = await TestClient.connect(running.url('/deflate'));
    const b = await TestClient.connect(running.url('/deflate'), { perMessageDeflate: false });
    a.send({ event: 'join' });
    b.send({ event: 'join' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    let before = wireBytes(a);
    a.send({ event: 'fanout', data: { data: compressible, compress: true } });
    expect((await a.event('fanned')).data).toBe(compressible);
    expect((await b.event('fanned')).data).toBe(compressible);
    expect(wireBytes(a) - before).toBeLessThan(compressible.length / 10);
    before = wireBytes(a);
    a.send({ event: 'fanout', data: { data: compressible, compress: false } });
    expect((await a.event('fanned')).data).toBe(compressible);
    expect(wireBytes(a) - before).toBeGreaterThan(compressible.length);
    await Promise.all([a.close(), b.close()]);
  });
});

import { SubscribeMessage, WebSocketGateway, type OnGatewayDisconnect } from '@nestjs/websockets';
import { SwitchboardAdapter } from '../../lib/index.js';
import { createGatewayHarness } from '../../lib/testing/index.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { waitUntil } from './drop-in.suite.js';

@WebSocketGateway({ path: '/beat' })
class BeatGateway implements OnGatewayDisconnect {
  static disconnects = 0;
  handleDisconnect(): void {
    BeatGateway.disconnects++;
  }
  @SubscribeMessage('ping')
  ping(): string {
    return 'pong';
  }
}

@WebSocketGateway({ path: '/quiet', heartbeatInterval: 0 })
class QuietGateway {}

describe('heartbeat', () => {
  const interval = 100;

  it('keeps a client that answers pings connected', async () => {
    const harness = await createGatewayHarness({ providers: [BeatGateway, QuietGateway] }, { adapter: { heartbeatInterval: interval }, logger: false });
    try {
      const client = await harness.connect('/beat');
      let pings = 0;
      client.socket.on('ping', () => pings++);
      await new Promise((resolve) => setTimeout(resolve, interval * 5));
      expect(pings).toBeGreaterThanOrEqual(3);
      expect(client.readyState).toBe(1);
      await expect(client.request('ping', null)).resolves.toBe('pong');
      await client.close();
    } finally {
      await harness.close();
    }
  });
});

/** Raw TCP peers that complete the handshake and then never answer a ping: the bytes they get are checked as is. */
describe('heartbeat against silent raw peers', () => {
  const interval = 100;
  let running: RunningApp;
  let adapter: SwitchboardAdapter;

  beforeEach(async () => {
    BeatGateway.disconnects = 0;
    running = await startApp({
      providers: [BeatGateway, QuietGateway],
      adapter: (app) => (adapter = new SwitchboardAdapter(app, { heartbeatInterval: interval })),
    });
  });

  afterEach(() => running.close());

  it('terminates a peer that stops answering within two intervals, and runs handleDisconnect', async () => {
    const { peer } = await RawPeer.open(running.port, '/beat');
    const started = Date.now();
    await waitUntil(() => peer.closed, 2000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThanOrEqual(2 * interval + 100);
    await waitUntil(() => BeatGateway.disconnects === 1);
    // The peer got pings (opcode 0x9) it never answered.
    expect(peer.received()[0]).toBe(0x89);
    expect(adapter.getStats().find((stats) => stats.path === '/beat')?.heartbeatTimeouts).toBe(1);
  });

  it('sends no pings when disabled for a gateway', async () => {
    const { peer } = await RawPeer.open(running.port, '/quiet');
    await new Promise((resolve) => setTimeout(resolve, interval * 4));
    expect(peer.received()).toHaveLength(0);
    expect(peer.closed).toBe(false);
    peer.destroy();
  });
});

import type { Socket } from 'node:net';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { SwitchboardServer, SwitchboardSocket } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { RecordingLogger, startApp, type RunningApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Exactly one ack per id, also when the server closes the connection: for
 * every close the server initiates, handlers already running finish and
 * their acks go out before the close frame.
 */
function closingGateway(path: string, options: Record<string, unknown>) {
  @WebSocketGateway({ path, ...options })
  class ClosingGateway {
    @WebSocketServer() server!: SwitchboardServer;

    @SubscribeMessage('slow')
    async slow(@MessageBody() n: number): Promise<number> {
      await sleep(300);
      return n;
    }

    @SubscribeMessage('fast')
    fast(@MessageBody() n: number): number {
      return n;
    }

    @SubscribeMessage('bye')
    bye(@ConnectedSocket() client: SwitchboardSocket): string {
      client.close(4000, 'BYE');
      return 'closing';
    }
  }
  return ClosingGateway;
}

const RateGateway = closingGateway('/rate', { rateLimit: { messagesPerSecond: 1, burst: 20, closeAfter: 5 } });
const SlowReaderGateway = closingGateway('/slow-reader', {
  backpressure: { highWaterMark: 256 * 1024, closeAt: 32 * 1024 * 1024, policy: 'close' },
  closeTimeout: 5000,
});
const SmallGateway = closingGateway('/small', { maxPayload: 1024 });
const StrictGateway = closingGateway('/strict', { invalidMessage: 'close' });
const PlainGateway = closingGateway('/plain', {});

type Ack = { id: unknown; status: string; data?: unknown; error?: { code: string } };

/** Ids of every ack received, in order, with their statuses. */
function acksOf(client: GatewayTestClient | TestClient): Ack[] {
  const values = client instanceof TestClient ? client.rawFrames.map((frame) => JSON.parse(frame.data.toString())) : client.messages.map((message) => message.raw as Ack);
  return values.filter((value) => value.id !== undefined && value.status !== undefined);
}

function expectOneAckPerId(client: GatewayTestClient): void {
  const ids = acksOf(client).map((ack) => ack.id);
  expect(new Set(ids).size).toBe(ids.length);
}

describe('one ack per id under every close the server initiates', () => {
  let harness: GatewayHarness;
  let logger: RecordingLogger;

  beforeAll(async () => {
    logger = new RecordingLogger();
    harness = await createGatewayHarness({ providers: [RateGateway, SmallGateway, StrictGateway, PlainGateway] }, { logger });
  });
  afterAll(async () => {
    await harness.close();
    expect(logger.errors()).toEqual([]);
  });

  it('rate limit (1008): every dispatched slow handler acks before the close, each id once', async () => {
    const client = await harness.connect('/rate');
    // 20 tokens: 20 slow handlers run; the flood after them is refused, and the
    // fifth refusal in a row closes the connection with 1008.
    for (let i = 0; i < 200; i++) {
      client.sendRaw({ event: 'slow', data: i, id: i });
    }
    expect(await client.expectClose(undefined, { timeout: 5000 })).toEqual({ code: 1008, reason: 'RATE_LIMITED' });
    const acks = acksOf(client);
    const ok = acks.filter((ack) => ack.status === 'ok').map((ack) => ack.data);
    expect(ok).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(acks.filter((ack) => ack.status === 'error').every((ack) => ack.error?.code === 'RATE_LIMITED')).toBe(true);
    expectOneAckPerId(client);
  });

  it('oversized frame (1009): the running handler acks, then the close comes', async () => {
    const client = await harness.connect('/small');
    client.sendRaw({ event: 'slow', data: 1, id: 'before' });
    client.sendRaw({ event: 'fast', data: 'y'.repeat(4096), id: 'too-big' });
    expect(await client.expectClose(undefined, { timeout: 3000 })).toEqual({ code: 1009, reason: 'MESSAGE_TOO_BIG' });
    expect(acksOf(client)).toEqual([{ id: 'before', status: 'ok', data: 1 }]);
  });

  it("invalid-message policy 'close' (1007): the running handler acks first", async () => {
    const client = await harness.connect('/strict');
    client.sendRaw({ event: 'slow', data: 2, id: 'before' });
    client.sendRaw('{not json');
    expect(await client.expectClose(undefined, { timeout: 3000 })).toEqual({ code: 1007, reason: 'DECODE_FAILED' });
    expect(acksOf(client)).toEqual([{ id: 'before', status: 'ok', data: 2 }]);
  });

  it('client.close() from a handler: the running handlers and the closing one ack; frames after it are not read', async () => {
    const client = await harness.connect('/plain');
    client.sendRaw({ event: 'slow', data: 3, id: 'slow' });
    client.sendRaw({ event: 'bye', id: 'bye' });
    await sleep(50);
    // The server stopped reading when the close was asked for: this frame is
    // never accepted, so it is neither run nor acked (the close tells the client).
    client.sendRaw({ event: 'fast', data: 4, id: 'late' });
    expect(await client.expectClose(undefined, { timeout: 3000 })).toEqual({ code: 4000, reason: 'BYE' });
    expect(acksOf(client)).toEqual([
      { id: 'bye', status: 'ok', data: 'closing' },
      { id: 'slow', status: 'ok', data: 3 },
    ]);
  });

  it('closes at once when nothing is running', async () => {
    const client = await harness.connect('/plain');
    const started = Date.now();
    client.sendRaw({ event: 'bye', id: 1 });
    await client.expectClose();
    expect(Date.now() - started).toBeLessThan(200);
  });
});

/** A client that stops reading: its TCP socket is paused, so the kernel buffers fill, then the server's. */
describe('one ack per id when the server closes a slow consumer', () => {
  let running: RunningApp;
  let logger: RecordingLogger;
  const clients: TestClient[] = [];

  async function connect(path: string): Promise<TestClient> {
    const client = await TestClient.connect(running.url(path));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    logger = new RecordingLogger();
    running = await startApp({ providers: [SlowReaderGateway], logger });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await running.close();
    expect(logger.errors()).toEqual([]);
  });

  it('slow consumer (1013): the ack of a running handler is written before the close', async () => {
    const client = await connect('/slow-reader');
    const gateway = running.app.get(SlowReaderGateway);
    client.send({ event: 'slow', data: 7, id: 'in-flight' });
    await sleep(20);
    const tcp = (client.socket as unknown as { _socket: Socket })._socket;
    tcp.pause();
    // Fill the client's buffer far past the high-water mark.
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 200; i++) {
      gateway.server.emit('flood', chunk);
    }
    await waitUntil(() => gateway.server.getStats().slowConsumerCloses === 1);
    await sleep(400); // The slow handler finishes meanwhile.
    tcp.resume();
    expect(await client.waitClose(5000)).toEqual({ code: 1013, reason: 'SLOW_CONSUMER' });
    expect(acksOf(client)).toEqual([{ id: 'in-flight', status: 'ok', data: 7 }]);
  });
});

@WebSocketGateway({ path: '/ordered', ordered: true })
class OrderedGateway {
  static history: string[] = [];

  @SubscribeMessage('say')
  async say(@MessageBody() text: string): Promise<string> {
    await sleep(30); // An async pipe or a database write.
    OrderedGateway.history.push(text);
    return 'said';
  }

  @SubscribeMessage('history')
  history(): string[] {
    return [...OrderedGateway.history];
  }

  @SubscribeMessage('slow')
  async slow(@MessageBody() n: number): Promise<number> {
    await sleep(300);
    return n;
  }

  @SubscribeMessage('n')
  n(@MessageBody() n: number): number {
    return n;
  }
}

@WebSocketGateway({ path: '/concurrent' })
class ConcurrentGateway {
  static history: string[] = [];

  @SubscribeMessage('say')
  async say(@MessageBody() text: string): Promise<string> {
    await sleep(30);
    ConcurrentGateway.history.push(text);
    return 'said';
  }

  @SubscribeMessage('history')
  history(): string[] {
    return [...ConcurrentGateway.history];
  }
}

describe('ordered dispatch (option)', () => {
  let harness: GatewayHarness;

  beforeAll(async () => {
    harness = await createGatewayHarness({ providers: [OrderedGateway, ConcurrentGateway] }, { logger: false });
  });
  afterAll(() => harness.close());

  it('runs one connection\'s messages one after another: history sees the earlier say', async () => {
    const client = await harness.connect('/ordered');
    client.sendRaw({ event: 'say', data: 'hello', id: 1 });
    await expect(client.request('history', undefined, { id: 2 })).resolves.toEqual(['hello']);
    await client.close();
  });

  it('by default (drop-in) messages run concurrently: history overtakes say', async () => {
    const client = await harness.connect('/concurrent');
    client.sendRaw({ event: 'say', data: 'hello', id: 1 });
    await expect(client.request('history', undefined, { id: 2 })).resolves.toEqual([]);
    await client.close();
  });

  it('does not hold up other connections', async () => {
    const busy = await harness.connect('/ordered');
    const other = await harness.connect('/ordered');
    const slow = busy.request('slow', 1, { id: 'slow' });
    const started = Date.now();
    await expect(other.request('n', 5)).resolves.toBe(5);
    expect(Date.now() - started).toBeLessThan(150);
    await slow;
    await Promise.all([busy.close(), other.close()]);
  });

  it('answers a flood of 2,000 messages in order, each once, reading with backpressure', async () => {
    const client = await harness.connect('/ordered');
    for (let i = 0; i < 2000; i++) {
      client.sendRaw({ event: 'n', data: i, id: i });
    }
    await waitUntil(() => client.messages.length >= 2000, 10_000);
    expect(acksOf(client).map((ack) => ack.data)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    await client.close();
  });
});

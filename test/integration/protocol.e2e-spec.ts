import { AckError, createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { RpcGateway } from '../fixtures/protocol.gateways.js';
import { ackOf, recordWire } from '../helpers/harness-client.js';
import { RecordingLogger, startApp, type RunningApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('protocol v1: acknowledgements', () => {
  let harness: GatewayHarness;
  let logger: RecordingLogger;
  let client: GatewayTestClient;
  let wire: ReturnType<typeof recordWire>;

  beforeEach(async () => {
    logger = new RecordingLogger();
    harness = await createGatewayHarness({ providers: [RpcGateway] }, { logger });
    client = await harness.connect('/rpc');
    wire = recordWire(client);
  });

  afterEach(() => harness.close());

  it('acks a message with a string id with the handler result', async () => {
    expect(await ackOf(client, 'add', { a: 2, b: 3 }, 'req-1')).toEqual({ id: 'req-1', status: 'ok', data: 5 });
  });

  it('acks a message with a numeric id, echoing the id unchanged', async () => {
    expect(await ackOf(client, 'add', { a: 1, b: 1 }, 42)).toEqual({ id: 42, status: 'ok', data: 2 });
  });

  it('puts a WsResponse result in the ack data as is', async () => {
    expect(await ackOf(client, 'echo', 'x', 1)).toEqual({ id: 1, status: 'ok', data: { event: 'echo', data: 'x' } });
  });

  it('acks a void handler with data null', async () => {
    expect(await ackOf(client, 'void', undefined, 'v')).toEqual({ id: 'v', status: 'ok', data: null });
  });

  it('acks concurrent slow requests each with its own result, whatever the completion order', async () => {
    const [a, b] = await Promise.all([ackOf(client, 'slow', 60, 'a'), ackOf(client, 'slow', 5, 'b')]);
    expect(a.data).toBe(60);
    expect(b.data).toBe(5);
    // b finished first, so it was sent first.
    expect(wire.texts().map((text) => JSON.parse(text).id)).toEqual(['b', 'a']);
  });

  it('acks an Observable result with its first value and sends the rest as replies', async () => {
    expect(await ackOf(client, 'many', undefined, 'm')).toEqual({ id: 'm', status: 'ok', data: 1 });
    expect(await client.nextEvent()).toMatchObject({ event: undefined, data: 2 });
    expect(await client.nextEvent()).toMatchObject({ event: undefined, data: 3 });
    expect(wire.texts()).toEqual(['{"id":"m","status":"ok","data":1}', '2', '3']);
  });

  it('sends every value of an endless Observable and unsubscribes when the client leaves', async () => {
    const other = await harness.connect('/rpc');
    other.send('ticker');
    for (let n = 0; n <= 3; n++) {
      await expect(other.expectEvent('tick')).resolves.toBe(n);
    }
    expect(RpcGateway.activeTickers).toBe(1);
    await other.close();
    await waitUntil(() => RpcGateway.activeTickers === 0);
  });

  it('answers a throwing handler with one INTERNAL error ack, no exception event, no echo, one log line', async () => {
    const failure = await client.request('throw', { secret: 'client-payload' }, { id: 't' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AckError);
    expect((failure as AckError).ack).toEqual({ id: 't', status: 'error', error: { code: 'INTERNAL', message: 'Internal server error' } });
    await sleep(100);
    expect(wire.texts()).toHaveLength(1);
    expect(wire.texts()[0]).not.toContain('client-payload');
    expect(wire.texts()[0]).not.toContain('hunter2');
    const errors = logger.errors();
    expect(errors).toHaveLength(1);
    expect(String(errors[0].message)).toContain('hunter2');
    expect(String(errors[0].rest[0])).toContain('RpcGateway.throws'); // the stack
  });

  it('maps WsException(string) to BAD_REQUEST with its message', async () => {
    expect(await ackOf(client, 'ws-string', undefined, 1)).toEqual({ id: 1, status: 'error', error: { code: 'BAD_REQUEST', message: 'Nope' } });
    expect(logger.errors()).toHaveLength(0);
  });

  it('keeps the code, message and details of WsException(object)', async () => {
    expect(await ackOf(client, 'ws-object', undefined, 1)).toEqual({
      id: 1,
      status: 'error',
      error: { code: 'ROOM_FULL', message: 'The room is full', details: { capacity: 2 } },
    });
  });

  it('answers a denied guard with a FORBIDDEN error ack and nothing else', async () => {
    expect(await ackOf(client, 'guarded', { x: 1 }, 'g')).toEqual({ id: 'g', status: 'error', error: { code: 'FORBIDDEN', message: 'Forbidden resource' } });
    await sleep(100);
    expect(client.messages).toHaveLength(1);
  });

  it('acks an unknown event with UNKNOWN_EVENT', async () => {
    expect(await ackOf(client, 'nope', undefined, 'u')).toEqual({ id: 'u', status: 'error', error: { code: 'UNKNOWN_EVENT', message: 'No handler for this event.' } });
  });

  it('lets an @Ack() handler acknowledge by hand, exactly once, ignoring its return value', async () => {
    expect(await ackOf(client, 'manual', 'hello', 'h')).toEqual({ id: 'h', status: 'ok', data: { manual: 'hello' } });
    await sleep(80);
    expect(client.messages).toHaveLength(1);
  });

  it('answers a result the codec cannot encode with an INTERNAL error ack and logs it', async () => {
    expect(await ackOf(client, 'cyclic', undefined, 'c')).toMatchObject({ id: 'c', status: 'error', error: { code: 'INTERNAL' } });
    expect(logger.errors().length).toBeGreaterThanOrEqual(1);
  });

  it('keeps serving after failures: every one of a mixed burst gets exactly one answer', async () => {
    const events = ['add', 'throw', 'ws-string', 'guarded', 'nope', 'void'];
    const ids = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    const acks = await Promise.all(ids.map((id, i) => ackOf(client, events[i % events.length], { a: i, b: 1 }, id)));
    expect(acks.map((ack) => ack.id)).toEqual(ids);
    await sleep(50);
    expect(client.messages).toHaveLength(ids.length);
  });
});

/** The handshake facts as a real socket gives them: the remote address is the TCP peer's. */
describe('protocol v1: handshake facts over TCP', () => {
  let running: RunningApp;
  let client: TestClient;

  beforeEach(async () => {
    running = await startApp({ providers: [RpcGateway], logger: new RecordingLogger() });
    client = await TestClient.connect(running.url('/rpc'));
  });

  afterEach(async () => {
    await client.close();
    await running.close();
  });

  it('exposes the handshake facts, a unique id and a data object on the client', async () => {
    const other = await TestClient.connect(running.url('/rpc?lang=en&tag=a&tag=b'), { headers: { 'user-agent': 'switchboard-test' } });
    try {
      const first = await other.request('whoami', null);
      const second = await other.request('whoami', null);
      const mine = await client.request('whoami', null);
      expect(first.data).toMatchObject({
        path: '/rpc',
        params: {},
        query: { lang: 'en', tag: ['a', 'b'] },
        remoteAddress: '127.0.0.1',
        userAgent: 'switchboard-test',
        visits: 1,
      });
      expect(second.data.visits).toBe(2);
      expect(first.data.id).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(mine.data.id).not.toBe(first.data.id);
    } finally {
      await other.close();
    }
  });
});

import { RpcGateway } from '../fixtures/protocol.gateways.js';
import { RecordingLogger, startApp, type RunningApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

describe('protocol v1: acknowledgements', () => {
  let running: RunningApp;
  let logger: RecordingLogger;
  let client: TestClient;

  beforeEach(async () => {
    logger = new RecordingLogger();
    running = await startApp({ providers: [RpcGateway], logger });
    client = await TestClient.connect(running.url('/rpc'));
  });

  afterEach(async () => {
    await client.close();
    await running.close();
  });

  it('acks a message with a string id with the handler result', async () => {
    client.send({ event: 'add', data: { a: 2, b: 3 }, id: 'req-1' });
    expect(await client.ack('req-1')).toEqual({ id: 'req-1', status: 'ok', data: 5 });
  });

  it('acks a message with a numeric id, echoing the id unchanged', async () => {
    client.send({ event: 'add', data: { a: 1, b: 1 }, id: 42 });
    expect(await client.ack(42)).toEqual({ id: 42, status: 'ok', data: 2 });
  });

  it('puts a WsResponse result in the ack data as is', async () => {
    client.send({ event: 'echo', data: 'x', id: 1 });
    expect(await client.ack(1)).toEqual({ id: 1, status: 'ok', data: { event: 'echo', data: 'x' } });
  });

  it('acks a void handler with data null', async () => {
    client.send({ event: 'void', id: 'v' });
    expect(await client.ack('v')).toEqual({ id: 'v', status: 'ok', data: null });
  });

  it('acks concurrent slow requests each with its own result, whatever the completion order', async () => {
    client.send({ event: 'slow', data: 60, id: 'a' });
    client.send({ event: 'slow', data: 5, id: 'b' });
    const [a, b] = await Promise.all([client.ack('a'), client.ack('b')]);
    expect(a.data).toBe(60);
    expect(b.data).toBe(5);
    // b finished first, so it was sent first.
    expect(client.rawFrames.map((frame) => JSON.parse(frame.data.toString()).id)).toEqual(['b', 'a']);
  });

  it('acks an Observable result with its first value and sends the rest as replies', async () => {
    client.send({ event: 'many', id: 'm' });
    expect(await client.ack('m')).toEqual({ id: 'm', status: 'ok', data: 1 });
    expect(await client.waitFor((value) => value === 3)).toBe(3);
    expect(client.rawFrames.map((frame) => frame.data.toString())).toEqual(['{"id":"m","status":"ok","data":1}', '2', '3']);
  });

  it('sends every value of an endless Observable and unsubscribes when the client leaves', async () => {
    const other = await TestClient.connect(running.url('/rpc'));
    other.send({ event: 'ticker' });
    await other.waitFor((value) => value?.event === 'tick' && value.data === 3);
    expect(RpcGateway.activeTickers).toBe(1);
    await other.close();
    await waitUntil(() => RpcGateway.activeTickers === 0);
  });

  it('answers a throwing handler with one INTERNAL error ack, no exception event, no echo, one log line', async () => {
    client.send({ event: 'throw', data: { secret: 'client-payload' }, id: 't' });
    expect(await client.ack('t')).toEqual({ id: 't', status: 'error', error: { code: 'INTERNAL', message: 'Internal server error' } });
    await client.framesWithin(100);
    expect(client.rawFrames).toHaveLength(1);
    expect(client.rawFrames[0].data.toString()).not.toContain('client-payload');
    expect(client.rawFrames[0].data.toString()).not.toContain('hunter2');
    const errors = logger.errors();
    expect(errors).toHaveLength(1);
    expect(String(errors[0].message)).toContain('hunter2');
    expect(String(errors[0].rest[0])).toContain('RpcGateway.throws'); // the stack
  });

  it('maps WsException(string) to BAD_REQUEST with its message', async () => {
    client.send({ event: 'ws-string', id: 1 });
    expect(await client.ack(1)).toEqual({ id: 1, status: 'error', error: { code: 'BAD_REQUEST', message: 'Nope' } });
    expect(logger.errors()).toHaveLength(0);
  });

  it('keeps the code, message and details of WsException(object)', async () => {
    client.send({ event: 'ws-object', id: 1 });
    expect(await client.ack(1)).toEqual({
      id: 1,
      status: 'error',
      error: { code: 'ROOM_FULL', message: 'The room is full', details: { capacity: 2 } },
    });
  });

  it('answers a denied guard with a FORBIDDEN error ack and nothing else', async () => {
    client.send({ event: 'guarded', data: { x: 1 }, id: 'g' });
    expect(await client.ack('g')).toEqual({ id: 'g', status: 'error', error: { code: 'FORBIDDEN', message: 'Forbidden resource' } });
    expect(await client.framesWithin(100)).toEqual([]);
    expect(client.rawFrames).toHaveLength(1);
  });

  it('acks an unknown event with UNKNOWN_EVENT', async () => {
    client.send({ event: 'nope', id: 'u' });
    expect(await client.ack('u')).toEqual({ id: 'u', status: 'error', error: { code: 'UNKNOWN_EVENT', message: 'No handler for this event.' } });
  });

  it('lets an @Ack() handler acknowledge by hand, exactly once, ignoring its return value', async () => {
    client.send({ event: 'manual', data: 'hello', id: 'h' });
    expect(await client.ack('h')).toEqual({ id: 'h', status: 'ok', data: { manual: 'hello' } });
    await client.framesWithin(80);
    expect(client.rawFrames).toHaveLength(1);
  });

  it('answers a result the codec cannot encode with an INTERNAL error ack and logs it', async () => {
    client.send({ event: 'cyclic', id: 'c' });
    expect(await client.ack('c')).toMatchObject({ id: 'c', status: 'error', error: { code: 'INTERNAL' } });
    expect(logger.errors().length).toBeGreaterThanOrEqual(1);
  });

  it('keeps serving after failures: every one of a mixed burst gets exactly one answer', async () => {
    const events = ['add', 'throw', 'ws-string', 'guarded', 'nope', 'void'];
    const ids = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    ids.forEach((id, i) => client.send({ event: events[i % events.length], data: { a: i, b: 1 }, id }));
    const acks = await Promise.all(ids.map((id) => client.ack(id)));
    expect(acks.map((ack) => ack.id)).toEqual(ids);
    await client.framesWithin(50);
    expect(client.rawFrames).toHaveLength(ids.length);
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

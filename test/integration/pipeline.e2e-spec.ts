import type { INestApplication, Provider } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SwitchboardAdapter, WsExceptionFilter, WsTransformInterceptor } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness, type GatewayHarnessOptions, type GatewayTestClient } from '../../lib/testing/index.js';
import {
  BareGateway,
  CountingTransformInterceptor,
  FilteredGateway,
  GlobalTransformGateway,
  HttpController,
  TracedGateway,
  TransformGateway,
  TransformMetaGateway,
  WsCallRecorder,
} from '../fixtures/pipeline.gateways.js';
import { ackOf, nextFrame, recordWire } from '../helpers/harness-client.js';
import { RecordingLogger } from '../helpers/nest-app.js';
import { NEST_MAJOR } from '../helpers/nest-line.js';
import { TestClient } from '../helpers/ws-client.js';

/** Gateways on the in-memory harness, silent unless a spec records the log. */
function harnessOf(providers: Provider[], options: GatewayHarnessOptions = {}): Promise<GatewayHarness> {
  return createGatewayHarness({ providers }, { logger: false, ...options });
}

describe('WsExceptionFilter', () => {
  let harness: GatewayHarness;
  let logger: RecordingLogger;
  let client: GatewayTestClient;

  beforeAll(async () => {
    logger = new RecordingLogger();
    harness = await harnessOf([FilteredGateway, TracedGateway], { logger });
    client = await harness.connect('/filtered');
  });
  afterAll(() => harness.close());

  it.each([
    ['ws-string', { code: 'BAD_REQUEST', message: 'Nope' }],
    ['ws-object', { code: 'ROOM_FULL', message: 'The room is full', details: { capacity: 2 } }],
    ['forbidden', { code: 'FORBIDDEN', message: 'Admins only' }],
    ['missing', { code: 'NOT_FOUND', message: 'No such room' }],
    ['funds', { code: 'INSUFFICIENT_FUNDS', message: 'Not enough credit', details: { missing: 42 } }],
  ])('answers %s with one error ack', async (event, error) => {
    const answer = await ackOf(client, event, { payload: 'do-not-echo' });
    expect(answer).toEqual({ id: expect.anything(), status: 'error', error });
  });

  it('answers an unknown error generically, never echoes the payload, and logs it once with its stack', async () => {
    const before = logger.errors().length;
    const answer = await ackOf(client, 'bug', { secret: 'client-secret' });
    expect(answer.error).toEqual({ code: 'INTERNAL', message: 'Internal server error' });
    expect(JSON.stringify(answer)).not.toContain('client-secret');
    const errors = logger.errors().slice(before);
    expect(errors).toHaveLength(1);
    expect(String(errors[0].rest[0])).toContain('TypeError');
  });

  it('sends an exception event with the code for a message without id, without the cause echo', async () => {
    client.send('ws-object', { payload: 'do-not-echo' });
    const exception = await nextFrame(client, 'exception');
    expect(exception).toEqual({ event: 'exception', data: { status: 'error', code: 'ROOM_FULL', message: 'The room is full', details: { capacity: 2 } } });
  });

  it('reports ValidationPipe failures field by field', async () => {
    const answer = await ackOf(client, 'create-default', { name: 3, age: -1, address: {} });
    expect(answer.error?.code).toBe('VALIDATION_FAILED');
    expect(answer.error?.details).toEqual(
      expect.arrayContaining([
        { field: 'name', messages: ['name must be a string'] },
        { field: 'age', messages: ['age must not be less than 0'] },
      ]),
    );
  });

  it('reports WsValidationPipe failures with fields, constraints and nested paths', async () => {
    const answer = await ackOf(client, 'create', { name: 'ada', age: 1.5, address: { city: 7 } });
    expect(answer.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'Validation failed',
      details: [
        { field: 'age', messages: ['age must be an integer number'], constraints: { isInt: 'age must be an integer number' } },
        { field: 'address.city', messages: ['city must be a string'], constraints: { isString: 'city must be a string' } },
      ],
    });
    await expect(client.request('create', { name: 'ada', age: 3, address: { city: 'Oslo' } })).resolves.toBe('ada');
  });

  // `@MessageBody({ schema })` exists on Nest 12 only (Nest 11 drops the object).
  const schemaEvents = NEST_MAJOR >= 12 ? ['join-zod', 'join-valibot', 'join-arktype', 'join-metadata'] : ['join-zod', 'join-valibot', 'join-arktype'];
  it.each(schemaEvents)('validates %s with a Standard Schema', async (event) => {
    const refused = await ackOf(client, event, { room: '' });
    expect(refused.status).toBe('error');
    expect(refused.error?.code).toBe('VALIDATION_FAILED');
    expect(refused.error?.details).toEqual([{ field: 'room', messages: [expect.any(String)] }]);
    const accepted = await ackOf(client, event, { room: 'lobby' });
    expect(accepted.status).toBe('ok');
    expect((accepted.data as { room: string }).room).toBe('lobby');
  });

  it('uses the value the schema produced (defaults applied)', async () => {
    await expect(client.request('join-zod', { room: 'x' })).resolves.toEqual({ room: 'x', limit: 10 });
  });

  it('can be extended to add fields to every error', async () => {
    const traced = await harness.connect('/traced');
    expect((await ackOf(traced, 'fail', null)).error).toEqual({ code: 'NOPE', message: 'no', details: { field: 'x', traceId: 'trace-1' } });
    await traced.close();
  });
});

describe('WsExceptionFilter registered for the whole application', () => {
  // Also answers HTTP: the app listens on a real port.
  it('works with app.useGlobalFilters and leaves HTTP errors to Nest', async () => {
    const moduleRef = await Test.createTestingModule({ providers: [BareGateway], controllers: [HttpController] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new SwitchboardAdapter(app));
    app.useGlobalFilters(new WsExceptionFilter({}, app.get(HttpAdapterHost).httpAdapter));
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as { port: number }).port;
    try {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/bare`);
      client.send({ event: 'fail' });
      expect((await client.event('exception')).data).toEqual({ status: 'error', code: 'BARE', message: 'bare failure' });
      await client.close();
      const response = await fetch(`http://127.0.0.1:${port}/http/missing`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ statusCode: 404, message: 'no page' });
    } finally {
      await app.close();
    }
  });

  it('works as APP_FILTER', async () => {
    const harness = await harnessOf([BareGateway, { provide: APP_FILTER, useClass: WsExceptionFilter }]);
    try {
      const client = await harness.connect('/bare');
      client.send('fail');
      await expect(client.expectEvent('exception')).resolves.toEqual({ status: 'error', code: 'BARE', message: 'bare failure' });
      expect((await ackOf(client, 'fail', null)).error).toEqual({ code: 'BARE', message: 'bare failure' });
      await client.close();
    } finally {
      await harness.close();
    }
  });
});

describe('WsTransformInterceptor', () => {
  let harness: GatewayHarness;
  let client: GatewayTestClient;
  let wire: ReturnType<typeof recordWire>;

  beforeAll(async () => {
    harness = await harnessOf([TransformGateway, TransformMetaGateway]);
    client = await harness.connect('/transform');
    wire = recordWire(client);
  });
  afterAll(() => harness.close());

  it('wraps a plain return value as {event, data} under the message event', async () => {
    client.send('plain', 5);
    expect(await nextFrame(client, 'plain')).toEqual({ event: 'plain', data: { echoed: 5 } });
  });

  it('leaves a WsResponse alone', async () => {
    client.send('already');
    expect(await nextFrame(client, 'custom')).toEqual({ event: 'custom', data: 1 });
  });

  it('uses the event named by @ReplyEvent', async () => {
    client.send('named');
    expect(await nextFrame(client, 'renamed')).toEqual({ event: 'renamed', data: 7 });
  });

  it('wraps Observable values one by one', async () => {
    client.send('stream');
    await expect(client.expectEvent('stream')).resolves.toBe(1);
    await expect(client.expectEvent('stream')).resolves.toBe(2);
    expect(wire.texts().filter((text) => text.includes('"stream"'))).toEqual(['{"event":"stream","data":1}', '{"event":"stream","data":2}']);
  });

  it('applies @Exclude and @Expose groups to class instances', async () => {
    client.send('user');
    await expect(client.expectEvent('user')).resolves.toEqual({ id: 1, name: 'ada' });
    client.send('admin-user');
    await expect(client.expectEvent('admin-user')).resolves.toEqual({ id: 1, name: 'ada', email: 'ada@example.com' });
  });

  it('applies class rules to plain objects given @SerializeOptions({ type }), and to nested instances', async () => {
    client.send('plain-user');
    await expect(client.expectEvent('plain-user')).resolves.toEqual({ name: 'bob' });
    client.send('nested-user');
    await expect(client.expectEvent('nested-user')).resolves.toEqual({ owner: { id: 1, name: 'ada' }, count: 1 });
  });

  it('serialises but does not wrap the value of an acked message', async () => {
    expect(await ackOf(client, 'user', null, 'u1')).toEqual({ id: 'u1', status: 'ok', data: { id: 1, name: 'ada' } });
  });

  it('adds a reply suffix and metadata, and can wrap acks with the request id', async () => {
    const meta = await harness.connect('/transform-meta');
    meta.send('join');
    const reply = await nextFrame(meta, 'join:reply');
    expect(reply).toEqual({ event: 'join:reply', data: 'joined', meta: { timestamp: expect.any(Number) } });
    expect(Math.abs(reply.meta.timestamp - Date.now())).toBeLessThan(5000);
    expect(await ackOf(meta, 'join', null, 'r-7')).toEqual({
      id: 'r-7',
      status: 'ok',
      data: { event: 'join:reply', data: 'joined', meta: { timestamp: expect.any(Number), requestId: 'r-7' } },
    });
    await meta.close();
  });
});

/** An app with the given gateways, configured by `setup` before it starts (as `main.ts` does). */
function harnessConfigured(providers: Array<new (...args: never[]) => unknown>, setup: (app: INestApplication) => void, logger?: RecordingLogger): Promise<GatewayHarness> {
  return harnessOf(providers, { configure: setup, logger: logger ?? false });
}

describe(`WsTransformInterceptor registered for the whole application (Nest ${NEST_MAJOR})`, () => {
  let harness: GatewayHarness;
  let client: GatewayTestClient;
  let wire: ReturnType<typeof recordWire>;
  const interceptor = new CountingTransformInterceptor({ replyEvent: { suffix: ':reply' } });

  beforeAll(async () => {
    harness = await harnessConfigured([GlobalTransformGateway], (app) => app.useGlobalInterceptors(interceptor));
    client = await harness.connect('/global-transform');
    wire = recordWire(client);
  });
  afterAll(() => harness.close());

  it('shapes replies and never sends @Exclude() fields, running once per message', async () => {
    const before = interceptor.calls;
    client.send('user');
    expect(await nextFrame(client, 'user:reply')).toEqual({ event: 'user:reply', data: { id: 1, name: 'ada' } });
    expect(await ackOf(client, 'user', null, 'u1')).toEqual({ id: 'u1', status: 'ok', data: { id: 1, name: 'ada' } });
    expect(JSON.stringify(wire.texts())).not.toContain('hunter2');
    expect(interceptor.calls - before).toBe(2);
  });

  it('honours @ReplyEvent and wraps Observable values one by one', async () => {
    client.send('named');
    expect(await nextFrame(client, 'renamed')).toEqual({ event: 'renamed', data: 7 });
    client.send('stream');
    await expect(client.expectEvent('stream:reply')).resolves.toBe(1);
    await expect(client.expectEvent('stream:reply')).resolves.toBe(2);
    expect(wire.texts().filter((text) => text.includes('"stream:reply"'))).toEqual(['{"event":"stream:reply","data":1}', '{"event":"stream:reply","data":2}']);
  });

  it("runs outside the handler's own interceptors, as a global interceptor does", async () => {
    client.send('nested');
    expect(await nextFrame(client, 'nested:reply')).toEqual({ event: 'nested:reply', data: { inner: 1 } });
  });

  it('works as APP_INTERCEPTOR', async () => {
    const other = await harnessOf([GlobalTransformGateway, { provide: APP_INTERCEPTOR, useClass: WsTransformInterceptor }]);
    try {
      const client = await other.connect('/global-transform');
      client.send('user');
      expect(await nextFrame(client, 'user')).toEqual({ event: 'user', data: { id: 1, name: 'ada' } });
      await client.close();
    } finally {
      await other.close();
    }
  });
});

describe(`other global guards, pipes and interceptors on gateways (Nest ${NEST_MAJOR})`, () => {
  it(NEST_MAJOR >= 12 ? 'apply to gateway messages: Nest 12 applies them itself' : 'do not apply to gateway messages on Nest 11, as with platform-ws', async () => {
    const recorder = new WsCallRecorder();
    const logger = new RecordingLogger();
    const harness = await harnessConfigured(
      [GlobalTransformGateway],
      (app) => {
        app.useGlobalGuards(recorder);
        app.useGlobalPipes(recorder);
        app.useGlobalInterceptors(recorder);
      },
      logger,
    );
    try {
      const client = await harness.connect('/global-transform');
      expect(await ackOf(client, 'echo', { a: 1 }, 'e1')).toEqual({ id: 'e1', status: 'ok', data: { a: 1 } });
      await client.close();
      expect(recorder.seen).toEqual(NEST_MAJOR >= 12 ? ['guard', 'interceptor', 'pipe'] : []);
      // On Nest 11 the startup log says which global enhancers gateways do not get.
      const notApplied = logger.entries.filter((entry) => entry.level === 'debug' && String(entry.message).includes('not applied to them'));
      expect(notApplied.map((entry) => String(entry.message))).toEqual(
        NEST_MAJOR >= 12 ? [] : [expect.stringContaining('guards WsCallRecorder; pipes WsCallRecorder; interceptors WsCallRecorder')],
      );
    } finally {
      await harness.close();
    }
  });
});

import type { INestApplication } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SwitchboardAdapter, WsExceptionFilter, WsTransformInterceptor } from '../../lib/index.js';
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
import { RecordingLogger, startApp, type RunningApp } from '../helpers/nest-app.js';
import { NEST_MAJOR } from '../helpers/nest-line.js';
import { TestClient } from '../helpers/ws-client.js';

describe('WsExceptionFilter', () => {
  let running: RunningApp;
  let logger: RecordingLogger;
  let client: TestClient;

  beforeAll(async () => {
    logger = new RecordingLogger();
    running = await startApp({ providers: [FilteredGateway, TracedGateway], logger });
    client = await TestClient.connect(running.url('/filtered'));
  });
  afterAll(async () => {
    await client.close();
    await running.close();
  });

  it.each([
    ['ws-string', { code: 'BAD_REQUEST', message: 'Nope' }],
    ['ws-object', { code: 'ROOM_FULL', message: 'The room is full', details: { capacity: 2 } }],
    ['forbidden', { code: 'FORBIDDEN', message: 'Admins only' }],
    ['missing', { code: 'NOT_FOUND', message: 'No such room' }],
    ['funds', { code: 'INSUFFICIENT_FUNDS', message: 'Not enough credit', details: { missing: 42 } }],
  ])('answers %s with one error ack', async (event, error) => {
    const answer = await client.request(event, { payload: 'do-not-echo' });
    expect(answer).toEqual({ id: expect.anything(), status: 'error', error });
  });

  it('answers an unknown error generically, never echoes the payload, and logs it once with its stack', async () => {
    const before = logger.errors().length;
    const answer = await client.request('bug', { secret: 'client-secret' });
    expect(answer.error).toEqual({ code: 'INTERNAL', message: 'Internal server error' });
    expect(JSON.stringify(answer)).not.toContain('client-secret');
    const errors = logger.errors().slice(before);
    expect(errors).toHaveLength(1);
    expect(String(errors[0].rest[0])).toContain('TypeError');
  });

  it('sends an exception event with the code for a message without id, without the cause echo', async () => {
    client.send({ event: 'ws-object', data: { payload: 'do-not-echo' } });
    const exception = await client.event('exception');
    expect(exception).toEqual({ event: 'exception', data: { status: 'error', code: 'ROOM_FULL', message: 'The room is full', details: { capacity: 2 } } });
  });

  it('reports ValidationPipe failures field by field', async () => {
    const answer = await client.request('create-default', { name: 3, age: -1, address: {} });
    expect(answer.error.code).toBe('VALIDATION_FAILED');
    expect(answer.error.details).toEqual(
      expect.arrayContaining([
        { field: 'name', messages: ['name must be a string'] },
        { field: 'age', messages: ['age must not be less than 0'] },
      ]),
    );
  });

  it('reports WsValidationPipe failures with fields, constraints and nested paths', async () => {
    const answer = await client.request('create', { name: 'ada', age: 1.5, address: { city: 7 } });
    expect(answer.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'Validation failed',
      details: [
        { field: 'age', messages: ['age must be an integer number'], constraints: { isInt: 'age must be an integer number' } },
        { field: 'address.city', messages: ['city must be a string'], constraints: { isString: 'city must be a string' } },
      ],
    });
    expect((await client.request('create', { name: 'ada', age: 3, address: { city: 'Oslo' } })).data).toBe('ada');
  });

  // `@MessageBody({ schema })` exists on Nest 12 only (Nest 11 drops the object).
  const schemaEvents = NEST_MAJOR >= 12 ? ['join-zod', 'join-valibot', 'join-arktype', 'join-metadata'] : ['join-zod', 'join-valibot', 'join-arktype'];
  it.each(schemaEvents)('validates %s with a Standard Schema', async (event) => {
    const refused = await client.request(event, { room: '' });
    expect(refused.status).toBe('error');
    expect(refused.error.code).toBe('VALIDATION_FAILED');
    expect(refused.error.details).toEqual([{ field: 'room', messages: [expect.any(String)] }]);
    const accepted = await client.request(event, { room: 'lobby' });
    expect(accepted.status).toBe('ok');
    expect(accepted.data.room).toBe('lobby');
  });

  it('uses the value the schema produced (defaults applied)', async () => {
    expect((await client.request('join-zod', { room: 'x' })).data).toEqual({ room: 'x', limit: 10 });
  });

  it('can be extended to add fields to every error', async () => {
    const traced = await TestClient.connect(running.url('/traced'));
    expect((await traced.request('fail', null)).error).toEqual({ code: 'NOPE', message: 'no', details: { field: 'x', traceId: 'trace-1' } });
    await traced.close();
  });
});

describe('WsExceptionFilter registered for the whole application', () => {
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
    const running = await startApp({ providers: [BareGateway, { provide: APP_FILTER, useClass: WsExceptionFilter }] });
    try {
      const client = await TestClient.connect(running.url('/bare'));
      client.send({ event: 'fail' });
      expect((await client.event('exception')).data).toEqual({ status: 'error', code: 'BARE', message: 'bare failure' });
      expect((await client.request('fail', null)).error).toEqual({ code: 'BARE', message: 'bare failure' });
      await client.close();
    } finally {
      await running.close();
    }
  });
});

describe('WsTransformInterceptor', () => {
  let running: RunningApp;
  let client: TestClient;

  beforeAll(async () => {
    running = await startApp({ providers: [TransformGateway, TransformMetaGateway] });
    client = await TestClient.connect(running.url('/transform'));
  });
  afterAll(async () => {
    await client.close();
    await running.close();
  });

  it('wraps a plain return value as {event, data} under the message event', async () => {
    client.send({ event: 'plain', data: 5 });
    expect(await client.event('plain')).toEqual({ event: 'plain', data: { echoed: 5 } });
  });

  it('leaves a WsResponse alone', async () => {
    client.send({ event: 'already' });
    expect(await client.event('custom')).toEqual({ event: 'custom', data: 1 });
  });

  it('uses the event named by @ReplyEvent', async () => {
    client.send({ event: 'named' });
    expect(await client.event('renamed')).toEqual({ event: 'renamed', data: 7 });
  });

  it('wraps Observable values one by one', async () => {
    client.send({ event: 'stream' });
    await client.waitFor((value) => value?.event === 'stream' && value.data === 2);
    expect(client.rawFrames.map((frame) => frame.data.toString()).filter((text) => text.includes('"stream"'))).toEqual([
      '{"event":"stream","data":1}',
      '{"event":"stream","data":2}',
    ]);
  });

  it('applies @Exclude and @Expose groups to class instances', async () => {
    client.send({ event: 'user' });
    expect((await client.event('user')).data).toEqual({ id: 1, name: 'ada' });
    client.send({ event: 'admin-user' });
    expect((await client.event('admin-user')).data).toEqual({ id: 1, name: 'ada', email: 'ada@example.com' });
  });

  it('applies class rules to plain objects given @SerializeOptions({ type }), and to nested instances', async () => {
    client.send({ event: 'plain-user' });
    expect((await client.event('plain-user')).data).toEqual({ name: 'bob' });
    client.send({ event: 'nested-user' });
    expect((await client.event('nested-user')).data).toEqual({ owner: { id: 1, name: 'ada' }, count: 1 });
  });

  it('serialises but does not wrap the value of an acked message', async () => {
    expect(await client.request('user', null, 'u1')).toEqual({ id: 'u1', status: 'ok', data: { id: 1, name: 'ada' } });
  });

  it('adds a reply suffix and metadata, and can wrap acks with the request id', async () => {
    const meta = await TestClient.connect(running.url('/transform-meta'));
    meta.send({ event: 'join' });
    const reply = await meta.event('join:reply');
    expect(reply).toEqual({ event: 'join:reply', data: 'joined', meta: { timestamp: expect.any(Number) } });
    expect(Math.abs(reply.meta.timestamp - Date.now())).toBeLessThan(5000);
    expect(await meta.request('join', null, 'r-7')).toEqual({
      id: 'r-7',
      status: 'ok',
      data: { event: 'join:reply', data: 'joined', meta: { timestamp: expect.any(Number), requestId: 'r-7' } },
    });
    await meta.close();
  });
});

/** An app with the given gateways, configured by `setup` before it listens (as `main.ts` does). */
async function startConfigured(providers: Array<new (...args: never[]) => unknown>, setup: (app: INestApplication) => void, logger?: RecordingLogger): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule({ providers }).compile();
  const app = moduleRef.createNestApplication({ logger: logger ?? false });
  app.useWebSocketAdapter(new SwitchboardAdapter(app));
  setup(app);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return { app, port, url: (path = '/') => `ws://127.0.0.1:${port}${path}`, close: () => app.close() };
}

describe(`WsTransformInterceptor registered for the whole application (Nest ${NEST_MAJOR})`, () => {
  let running: RunningApp;
  let client: TestClient;
  const interceptor = new CountingTransformInterceptor({ replyEvent: { suffix: ':reply' } });

  beforeAll(async () => {
    running = await startConfigured([GlobalTransformGateway], (app) => app.useGlobalInterceptors(interceptor));
    client = await TestClient.connect(running.url('/global-transform'));
  });
  afterAll(async () => {
    await client.close();
    await running.close();
  });

  it('shapes replies and never sends @Exclude() fields, running once per message', async () => {
    const before = interceptor.calls;
    client.send({ event: 'user' });
    expect(await client.event('user:reply')).toEqual({ event: 'user:reply', data: { id: 1, name: 'ada' } });
    expect(await client.request('user', null, 'u1')).toEqual({ id: 'u1', status: 'ok', data: { id: 1, name: 'ada' } });
    expect(JSON.stringify(client.rawFrames.map((frame) => frame.data.toString()))).not.toContain('hunter2');
    expect(interceptor.calls - before).toBe(2);
  });

  it('honours @ReplyEvent and wraps Observable values one by one', async () => {
    client.send({ event: 'named' });
    expect(await client.event('renamed')).toEqual({ event: 'renamed', data: 7 });
    client.send({ event: 'stream' });
    await client.waitFor((value) => value?.event === 'stream:reply' && value.data === 2);
    expect(client.rawFrames.map((frame) => frame.data.toString()).filter((text) => text.includes('"stream:reply"'))).toEqual([
      '{"event":"stream:reply","data":1}',
      '{"event":"stream:reply","data":2}',
    ]);
  });

  it("runs outside the handler's own interceptors, as a global interceptor does", async () => {
    client.send({ event: 'nested' });
    expect(await client.event('nested:reply')).toEqual({ event: 'nested:reply', data: { inner: 1 } });
  });

  it('works as APP_INTERCEPTOR', async () => {
    const app = await startApp({ providers: [GlobalTransformGateway, { provide: APP_INTERCEPTOR, useClass: WsTransformInterceptor }] });
    try {
      const other = await TestClient.connect(app.url('/global-transform'));
      other.send({ event: 'user' });
      expect(await other.event('user')).toEqual({ event: 'user', data: { id: 1, name: 'ada' } });
      await other.close();
    } finally {
      await app.close();
    }
  });
});

describe(`other global guards, pipes and interceptors on gateways (Nest ${NEST_MAJOR})`, () => {
  it(NEST_MAJOR >= 12 ? 'apply to gateway messages: Nest 12 applies them itself' : 'do not apply to gateway messages on Nest 11, as with platform-ws', async () => {
    const recorder = new WsCallRecorder();
    const logger = new RecordingLogger();
    const running = await startConfigured(
      [GlobalTransformGateway],
      (app) => {
        app.useGlobalGuards(recorder);
        app.useGlobalPipes(recorder);
        app.useGlobalInterceptors(recorder);
      },
      logger,
    );
    try {
      const client = await TestClient.connect(running.url('/global-transform'));
      expect(await client.request('echo', { a: 1 }, 'e1')).toEqual({ id: 'e1', status: 'ok', data: { a: 1 } });
      await client.close();
      expect(recorder.seen).toEqual(NEST_MAJOR >= 12 ? ['guard', 'interceptor', 'pipe'] : []);
      // On Nest 11 the startup log says which global enhancers gateways do not get.
      const notApplied = logger.entries.filter((entry) => entry.level === 'debug' && String(entry.message).includes('not applied to them'));
      expect(notApplied.map((entry) => String(entry.message))).toEqual(
        NEST_MAJOR >= 12 ? [] : [expect.stringContaining('guards WsCallRecorder; pipes WsCallRecorder; interceptors WsCallRecorder')],
      );
    } finally {
      await running.close();
    }
  });
});

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SwitchboardClient, SwitchboardClientError, type SwitchboardClientOptions } from '../../lib/client/index.js';
import { freePort } from '../helpers/ports.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';
import { ClientTestGateway, type TestEvents } from './fixtures/client.gateways.js';
import { sleep, until } from './helpers/spec-server.js';

/**
 * The client against the real adapter (a Nest app with SwitchboardAdapter on
 * 127.0.0.1): requests and their acks, error codes, emits, pushes, server
 * requests answered by onRequest, timeouts, aborts, and the timed-out request
 * that must never reach the server.
 */
describe('SwitchboardClient against the adapter: requests, emits, server requests', () => {
  let app: RunningApp;
  const clients: Array<SwitchboardClient<TestEvents>> = [];

  function client(options: Partial<SwitchboardClientOptions<SwitchboardClient<TestEvents>>> = {}): SwitchboardClient<TestEvents> {
    const created = new SwitchboardClient<TestEvents>({ url: app.url('/client'), ...options });
    clients.push(created);
    return created;
  }

  async function open(options: Partial<SwitchboardClientOptions<SwitchboardClient<TestEvents>>> = {}): Promise<SwitchboardClient<TestEvents>> {
    const created = client(options);
    await until(() => created.state === 'open', 3000, 'the client to open');
    return created;
  }

  const failure = (promise: Promise<unknown>): Promise<SwitchboardClientError> =>
    promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => error as SwitchboardClientError,
    );

  beforeAll(async () => {
    app = await startApp({ providers: [ClientTestGateway] });
  });

  afterAll(() => app.close());

  beforeEach(() => {
    ClientTestGateway.seen = [];
  });

  afterEach(() => {
    clients.splice(0).forEach((created) => created.close());
  });

  it('resolves a request with the ack data', async () => {
    const sb = await open();
    await expect(sb.request('add', { a: 2, b: 3 })).resolves.toBe(5);
  });

  it('keeps many requests in flight at once, each settled by its own ack', async () => {
    const sb = await open();
    const delays = Array.from({ length: 200 }, (_, i) => (i * 37) % 60);
    const started = Date.now();
    const results = await Promise.all(delays.map((ms) => sb.request('slow', ms)));
    expect(results).toEqual(delays);
    // In flight together: about the longest delay, not their sum (5.9 s).
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sb.stats.pending).toBe(0);
  });

  it("rejects with the server's code, message and details (WsException)", async () => {
    const sb = await open();
    const error = await failure(sb.request('room-full'));
    expect(error).toBeInstanceOf(SwitchboardClientError);
    expect(error).toMatchObject({ name: 'SwitchboardClientError', code: 'ROOM_FULL', message: 'The room is full', details: { capacity: 2 } });
  });

  it('rejects with VALIDATION_FAILED and the problems in details (validation pipe)', async () => {
    const sb = await open();
    const error = await failure(sb.request('join', { room: '' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual([{ field: 'room', messages: [expect.any(String)] }]);
    await expect(sb.request('join', { room: 'lobby' })).resolves.toEqual({ room: 'lobby' });
  });

  it('rejects an unknown event with UNKNOWN_EVENT', async () => {
    const sb = await open();
    const untyped = sb as unknown as SwitchboardClient;
    await expect(failure(untyped.request('nope'))).resolves.toMatchObject({ code: 'UNKNOWN_EVENT' });
  });

  it('emits without an id; an emit made before the connection opened is queued and sent once open', async () => {
    const sb = client();
    expect(sb.state).toBe('connecting');
    expect(sb.emit('record', 'early')).toBe(true);
    await until(() => sb.state === 'open');
    expect(sb.emit('record', 'late')).toBe(true);
    await until(() => ClientTestGateway.seen.length === 2);
    expect(ClientTestGateway.seen).toEqual(['early', 'late']);
    expect(sb.stats).toMatchObject({ queued: 1, dropped: 0 });
  });

  it('delivers pushes to on() listeners, typed, until unsubscribed', async () => {
    const sb = await open();
    const texts: string[] = [];
    const off = sb.on('pushed', (data) => texts.push(data.text));
    await sb.request('push', { text: 'one' });
    await until(() => texts.length === 1);
    off();
    await sb.request('push', { text: 'two' });
    await sleep(30);
    expect(texts).toEqual(['one']);
  });

  it('rejects with REQUEST_TIMEOUT, and counts the late ack as stray', async () => {
    const sb = await open();
    const error = await failure(sb.request('slow', 200, { timeout: 30 }));
    expect(error.code).toBe('REQUEST_TIMEOUT');
    await until(() => sb.stats.strayAcks === 1, 2000, 'the late ack');
    expect(sb.stats.pending).toBe(0);
  });

  it('rejects with ABORTED when the signal aborts, or was aborted before the call (then nothing is sent)', async () => {
    const sb = await open();
    const controller = new AbortController();
    const pending = failure(sb.request('slow', 300, { signal: controller.signal }));
    controller.abort();
    await expect(pending).resolves.toMatchObject({ code: 'ABORTED' });
    await expect(failure(sb.request('record', 'never', { signal: AbortSignal.abort() }))).resolves.toMatchObject({ code: 'ABORTED' });
    await sb.request('record', 'marker');
    expect(ClientTestGateway.seen).toEqual(['marker']);
  });

  describe('a request that timed out while queued is never sent', () => {
    it('before the first connect (autoConnect: false)', async () => {
      const sb = client({ autoConnect: false });
      const timedOut = failure(sb.request('record', 'timed-out', { timeout: 40 }));
      const controller = new AbortController();
      const aborted = failure(sb.request('record', 'aborted', { signal: controller.signal }));
      const kept = sb.request('record', 'kept', { timeout: 5000 });
      controller.abort();
      await expect(timedOut).resolves.toMatchObject({ code: 'REQUEST_TIMEOUT' });
      await expect(aborted).resolves.toMatchObject({ code: 'ABORTED' });
      expect(sb.stats.queueLength).toBe(1);
      sb.connect();
      await expect(kept).resolves.toBe('recorded');
      await sb.request('record', 'marker');
      expect(ClientTestGateway.seen).toEqual(['kept', 'marker']);
    });

    it('while the server is unreachable, then reachable', async () => {
      const nowhere = `ws://127.0.0.1:${await freePort()}/client`;
      let reachable = false;
      const sb = client({ url: () => (reachable ? app.url('/client') : nowhere), reconnect: { delay: 40, maxDelay: 80 } });
      const timedOut = failure(sb.request('record', 'timed-out', { timeout: 100 }));
      const kept = sb.request('record', 'kept', { timeout: 5000 });
      await expect(timedOut).resolves.toMatchObject({ code: 'REQUEST_TIMEOUT' });
      expect(sb.state).toBe('reconnecting');
      reachable = true;
      await expect(kept).resolves.toBe('recorded');
      await sb.request('record', 'marker');
      expect(ClientTestGateway.seen).toEqual(['kept', 'marker']);
    });
  });

  it('rejects in-flight requests with DISCONNECTED when the connection drops (no session to resume them)', async () => {
    const sb = await open({ reconnect: { delay: 20 } });
    const inFlight = failure(sb.request('slow', 500));
    await sb.request('kick');
    await expect(inFlight).resolves.toMatchObject({ code: 'DISCONNECTED' });
    await until(() => sb.state === 'open');
    await expect(sb.request('add', { a: 1, b: 1 })).resolves.toBe(2);
    expect(sb.stats.reconnects).toBe(1);
  });

  it('close() rejects pending and queued requests with CLIENT_CLOSED, later calls too, and emit returns false', async () => {
    const sb = await open();
    const inFlight = failure(sb.request('slow', 500));
    sb.close();
    await expect(inFlight).resolves.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(failure(sb.request('add', { a: 1, b: 2 }))).resolves.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(sb.emit('record', 'after close')).toBe(false);
    expect(sb.state).toBe('closed');
    // connect() after close() works again.
    sb.connect();
    await until(() => sb.state === 'open');
    await expect(sb.request('add', { a: 1, b: 2 })).resolves.toBe(3);
  });

  describe('server-to-client requests (client.request on the server) answered by onRequest', () => {
    it('answers with the handler result, sync or async', async () => {
      const sb = await open();
      sb.onRequest('confirm', (question) => question === 'sure?');
      sb.onRequest('sum', async (numbers) => {
        await sleep(10);
        return numbers.reduce((total, n) => total + n, 0);
      });
      await expect(sb.request('ask', { event: 'confirm', data: 'sure?' })).resolves.toEqual({ ok: true, answer: true });
      await expect(sb.request('ask', { event: 'sum', data: [1, 2, 3] })).resolves.toEqual({ ok: true, answer: 6 });
    });

    it('turns a throw into an error ack with its code, or INTERNAL; an unknown event into UNKNOWN_EVENT', async () => {
      const sb = await open();
      sb.onRequest('confirm', () => {
        throw Object.assign(new Error('Not now'), { code: 'BUSY' });
      });
      sb.onRequest('sum', async () => {
        throw new Error('oops');
      });
      await expect(sb.request('ask', { event: 'confirm', data: 'x' })).resolves.toEqual({
        ok: false,
        code: 'REQUEST_REJECTED',
        details: { code: 'BUSY', message: 'Not now' },
      });
      await expect(sb.request('ask', { event: 'sum', data: [] })).resolves.toEqual({
        ok: false,
        code: 'REQUEST_REJECTED',
        details: { code: 'INTERNAL', message: 'oops' },
      });
      await expect(sb.request('ask', { event: 'unheard-of' })).resolves.toEqual({
        ok: false,
        code: 'REQUEST_REJECTED',
        details: { code: 'UNKNOWN_EVENT', message: 'No handler for this event.' },
      });
    });

    it('stops answering once the handler is removed', async () => {
      const sb = await open();
      const off = sb.onRequest('confirm', () => true);
      await expect(sb.request('ask', { event: 'confirm', data: 'x' })).resolves.toMatchObject({ ok: true });
      off();
      await expect(sb.request('ask', { event: 'confirm', data: 'x' })).resolves.toMatchObject({ ok: false, details: { code: 'UNKNOWN_EVENT' } });
    });
  });

  it("keeps an idle connection alive with $ping, which the adapter answers with $pong", async () => {
    const sb = await open({ pingInterval: 40, pongTimeout: 300 });
    const closes: unknown[] = [];
    sb.on('$close', (info) => closes.push(info));
    await sleep(500); // about a dozen pings of silence
    expect(closes).toEqual([]);
    expect(sb.stats.reconnects).toBe(0);
    expect(sb.stats.invalidFrames).toBe(0); // each $pong was understood
  });

  it('loads the ws package itself on Node 20 (no global WebSocket), and takes an injected class too', async () => {
    expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined();
    const { WebSocket } = await import('ws');
    let constructed = 0;
    class CountingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        constructed++;
      }
    }
    const sb = await open({ WebSocket: CountingWebSocket });
    await expect(sb.request('add', { a: 4, b: 4 })).resolves.toBe(8);
    expect(constructed).toBe(1);
  });
});

import { WebSocket } from 'ws';
import type { Codec } from '../interfaces/codec.interface.js';
import type { ErrorBody, MessageId } from '../interfaces/envelope.interface.js';
import { JsonCodec } from '../protocol/json.codec.js';

/** What the client received, decoded, in order. */
export interface ReceivedMessage {
  /** `event` for pushes and replies; undefined for acks and bare values. */
  readonly event: string | undefined;
  readonly data: unknown;
  /** The whole decoded frame. */
  readonly raw: unknown;
  readonly binary: boolean;
}

/** A request answered with `status: "error"`: the server's error body, as a rejection. */
export class AckError extends Error {
  override readonly name = 'AckError';
  readonly code: string;
  readonly details: unknown;

  constructor(readonly ack: { id: MessageId; status: 'error'; error: ErrorBody }) {
    super(ack.error?.message ?? 'The server answered with an error');
    this.code = ack.error?.code;
    this.details = ack.error?.details;
  }
}

/** A wait that ended without what it waited for. */
export class TestClientTimeoutError extends Error {
  override readonly name = 'TestClientTimeoutError';
}

interface Waiter {
  match(message: ReceivedMessage): boolean;
  resolve(message: ReceivedMessage): void;
}

type RequestHandler = (data: unknown) => unknown;

const DEFAULT_TIMEOUT_MS = 2000;
let nextRequestId = 0;

/**
 * A client made for tests, on a real `ws` WebSocket (in memory or over
 * TCP): requests that resolve with their ack, waits for events with
 * timeouts, assertions that nothing arrived, and the log of everything
 * received. Waits consume messages in arrival order, so a test reads the
 * conversation as it happened.
 */
export class GatewayTestClient {
  /** Every message received, in order (acks included). */
  readonly messages: ReceivedMessage[] = [];
  /** Socket errors (the client stays usable for assertions; `ws` closes the socket). */
  readonly errors: Error[] = [];
  private readonly unread: ReceivedMessage[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly requestHandlers = new Map<string, RequestHandler>();
  private readonly closed: Promise<{ code: number; reason: string }>;
  private closeResult: { code: number; reason: string } | undefined;

  constructor(
    /** The underlying `ws` client, for anything this API does not cover. */
    readonly socket: WebSocket,
    private readonly codec: Codec = new JsonCodec({ acceptBinary: true }),
  ) {
    socket.on('message', (data: Buffer, binary: boolean) => this.receive(data, binary));
    socket.on('error', (error: Error) => this.errors.push(error));
    this.closed = new Promise((resolve) => {
      socket.once('close', (code: number, reason: Buffer) => {
        this.closeResult = { code, reason: reason.toString() };
        resolve(this.closeResult);
      });
    });
  }

  /** The socket's `readyState` (`WebSocket.OPEN`, ...). */
  get readyState(): number {
    return this.socket.readyState;
  }

  /** Sends `{ event, data }` without an id: no ack will come. */
  send(event: string, data?: unknown): void {
    this.sendFrame({ event, data });
  }

  /** Sends any value through the codec, or a raw string/Buffer as is (to test bad input). */
  sendRaw(frame: unknown, options: { binary?: boolean } = {}): void {
    if (typeof frame === 'string' || Buffer.isBuffer(frame)) {
      this.socket.send(frame, { binary: options.binary ?? Buffer.isBuffer(frame) });
    } else {
      this.sendFrame(frame);
    }
  }

  /**
   * Sends `{ event, data, id }` and resolves with the `data` of the ok ack;
   * rejects with an {@link AckError} (`code`, `message`, `details`) for an
   * error ack, or a timeout error.
   */
  async request<T = unknown>(event: string, data?: unknown, options: { timeout?: number; id?: MessageId } = {}): Promise<T> {
    const id = options.id ?? `t${++nextRequestId}`;
    this.sendFrame({ event, data, id });
    const ack = await this.waitFor((message) => message.event === undefined && isAck(message.raw) && message.raw.id === id, options.timeout, `an ack for "${event}" (id ${String(id)})`);
    const body = ack.raw as { id: MessageId; status: 'ok' | 'error'; data?: unknown; error?: ErrorBody };
    if (body.status === 'error') {
      throw new AckError(body as { id: MessageId; status: 'error'; error: ErrorBody });
    }
    return body.data as T;
  }

  /** Resolves with the `data` of the next `event` (already received or to come). */
  async expectEvent<T = unknown>(event: string, options: { timeout?: number } = {}): Promise<T> {
    return (await this.waitFor((message) => message.event === event, options.timeout, `the event "${event}"`)).data as T;
  }

  /** The next message that is not an ack, whatever its event. */
  nextEvent(options: { timeout?: number } = {}): Promise<ReceivedMessage> {
    return this.waitFor((message) => !isAck(message.raw), options.timeout, 'any event');
  }

  /**
   * Waits `ms` and fails if an event arrived meanwhile (any event, or only
   * `event`). Unread events already received count too.
   */
  async expectNoEvent(eventOrMs?: string | number, maybeMs?: number): Promise<void> {
    const event = typeof eventOrMs === 'string' ? eventOrMs : undefined;
    const ms = typeof eventOrMs === 'number' ? eventOrMs : (maybeMs ?? 100);
    const matches = (message: ReceivedMessage): boolean => !isAck(message.raw) && (event === undefined || message.event === event);
    await new Promise((resolve) => setTimeout(resolve, ms));
    const unexpected = this.unread.find(matches);
    if (unexpected !== undefined) {
      throw new Error(`Expected no ${event === undefined ? 'event' : `"${event}" event`}, received ${JSON.stringify(unexpected.raw)}`);
    }
  }

  /** Resolves when the connection closes; checks the close code when given. */
  async expectClose(code?: number, options: { timeout?: number } = {}): Promise<{ code: number; reason: string }> {
    const result = await withTimeout(this.closed, options.timeout ?? DEFAULT_TIMEOUT_MS, 'the connection to close');
    if (code !== undefined && result.code !== code) {
      throw new Error(`Expected close code ${code}, got ${result.code} (${result.reason || 'no reason'})`);
    }
    return result;
  }

  /**
   * Answers the server's requests (`client.request(event, ...)` on the
   * server) for `event` with the handler's result; a throw becomes an error ack.
   */
  onRequest(event: string, handler: RequestHandler): this {
    this.requestHandlers.set(event, handler);
    return this;
  }

  /** Closes the connection and waits for the close handshake. */
  async close(code = 1000, reason = ''): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) {
      return;
    }
    if (this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.terminate();
    } else {
      this.socket.close(code, reason);
    }
    await withTimeout(this.closed, DEFAULT_TIMEOUT_MS, 'the close handshake').catch(() => this.socket.terminate());
  }

  private sendFrame(value: unknown): void {
    const frame = this.codec.encode(value);
    this.socket.send(frame, { binary: typeof frame !== 'string' });
  }

  private receive(data: Buffer, binary: boolean): void {
    let raw: unknown;
    try {
      raw = this.codec.decode(data);
    } catch {
      raw = data.toString();
    }
    const envelope = (typeof raw === 'object' && raw !== null ? raw : {}) as { event?: unknown; data?: unknown; id?: MessageId };
    const event = typeof envelope.event === 'string' ? envelope.event : undefined;
    const message: ReceivedMessage = { event, data: event !== undefined ? envelope.data : raw, raw, binary };
    this.messages.push(message);
    const handler = event !== undefined && envelope.id !== undefined ? this.requestHandlers.get(event) : undefined;
    if (handler !== undefined) {
      void this.answer(envelope.id!, handler, envelope.data);
      return;
    }
    const waiter = this.waiters.findIndex((candidate) => candidate.match(message));
    if (waiter !== -1) {
      this.waiters.splice(waiter, 1)[0].resolve(message);
    } else {
      this.unread.push(message);
    }
  }

  private async answer(id: MessageId, handler: RequestHandler, data: unknown): Promise<void> {
    try {
      this.sendFrame({ id, status: 'ok', data: (await handler(data)) ?? null });
    } catch (error) {
      this.sendFrame({ id, status: 'error', error: { code: 'CLIENT_ERROR', message: (error as Error)?.message ?? String(error) } });
    }
  }

  private waitFor(match: (message: ReceivedMessage) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS, what: string): Promise<ReceivedMessage> {
    const index = this.unread.findIndex(match);
    if (index !== -1) {
      return Promise.resolve(this.unread.splice(index, 1)[0]);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new TestClientTimeoutError(`Waited ${timeoutMs} ms for ${what}; unread: ${JSON.stringify(this.unread.map((message) => message.raw))}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

function isAck(raw: unknown): raw is { id: MessageId; status: string } {
  return typeof raw === 'object' && raw !== null && 'status' in raw && 'id' in raw && !('event' in raw);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TestClientTimeoutError(`Waited ${ms} ms for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

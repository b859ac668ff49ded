import type { IncomingHttpHeaders } from 'node:http';
import { WebSocket } from 'ws';
import { NO_CLUSTER } from '../broadcast/no-cluster.js';
import { BroadcastOperator, type RoomTarget } from '../broadcast/broadcast-operator.js';
import type { BroadcastPacket } from '../broker/broker.interface.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { Handshake, PathParams, QueryParams } from '../interfaces/handshake.interface.js';
import { setReadyState } from '../internals/ws.js';
import { assertRoomName } from '../rooms/room-name.js';
import { JsonCodec } from '../protocol/json.codec.js';
import { SwitchboardSocket, type SocketData } from '../socket/switchboard-socket.js';

export interface MockSocketOptions<TData extends object> {
  id?: string;
  data?: TData;
  path?: string;
  route?: string;
  params?: Record<string, string | string[]>;
  query?: Record<string, string | string[]>;
  headers?: IncomingHttpHeaders;
  remoteAddress?: string;
  rooms?: string[];
}

/** A broadcast a handler made through `client.to(...)` or `client.broadcast`. */
export interface RecordedBroadcast {
  event: string;
  data: unknown;
  rooms?: readonly string[];
  clientIds?: readonly string[];
  exceptRooms?: readonly string[];
  exceptClientIds?: readonly string[];
  compress: boolean;
}

const codec = new JsonCodec();

/**
 * A `SwitchboardSocket` with no network, for unit tests of one gateway
 * method: it records what is sent, the rooms joined and left, broadcasts and
 * closes, and answers `client.request()` from handlers you register. It is a
 * real `SwitchboardSocket` (so `instanceof` and types hold) whose I/O is
 * replaced.
 *
 * ```ts
 * const client = createMockSocket({ params: { room: 'lobby' }, data: { nick: 'ada' } });
 * gateway.join(client, 'lobby');
 * expect(client.joined).toEqual(['lobby']);
 * expect(client.broadcasts).toEqual([expect.objectContaining({ event: 'joined', rooms: ['lobby'] })]);
 * ```
 */
export class MockSocket<TData extends object = SocketData> extends SwitchboardSocket<TData> {
  /** Every value sent to this client (frames decoded as JSON when possible). */
  readonly sent: unknown[] = [];
  readonly joined: string[] = [];
  readonly left: string[] = [];
  readonly broadcasts: RecordedBroadcast[] = [];
  /** Set by `close()` / `terminate()`. */
  closedWith: { code?: number; reason?: string } | undefined;
  private readonly mockRooms = new Set<string>();
  private readonly requestAnswers = new Map<string, (data: unknown) => unknown>();

  /** @internal Use {@link createMockSocket}. */
  static create<TData extends object>(options: MockSocketOptions<TData>): MockSocket<TData> {
    const socket = new MockSocket<TData>(null as unknown as string, undefined, { autoPong: true });
    if (options.id !== undefined) {
      (socket as { id: string }).id = options.id;
    }
    socket.setState(WebSocket.OPEN);
    const handshake: Handshake = {
      path: options.path ?? '/',
      route: options.route ?? options.path ?? '/',
      params: (options.params ?? {}) as PathParams,
      query: (options.query ?? {}) as QueryParams,
      headers: options.headers ?? {},
      remoteAddress: options.remoteAddress ?? '127.0.0.1',
    };
    socket._handshake = handshake;
    if (options.data !== undefined) {
      socket.data = options.data;
    }
    for (const room of options.rooms ?? []) {
      socket.mockRooms.add(room);
    }
    return socket;
  }

  /** `ws` reads `readyState` from this internal field. */
  private setState(state: number): void {
    setReadyState(this, state);
  }

  override send(data: unknown, optionsOrCallback?: unknown, callback?: (error?: Error) => void): void {
    this.sent.push(decode(data));
    const done = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
    (done as ((error?: Error) => void) | undefined)?.();
  }

  override sendEvent(event: string, data?: unknown): boolean {
    if (this.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.sent.push({ event, data });
    return true;
  }

  override close(code?: number, reason?: string | Buffer): void {
    this.closedWith = { code, reason: reason?.toString() };
    this.setState(WebSocket.CLOSED);
    this.emit('close', code ?? 1005, Buffer.from(reason?.toString() ?? ''));
  }

  override terminate(): void {
    this.close(1006);
  }

  override join(rooms: string | readonly string[]): Promise<void> {
    for (const room of typeof rooms === 'string' ? [rooms] : rooms) {
      assertRoomName(room);
      if (!this.mockRooms.has(room)) {
        this.mockRooms.add(room);
        this.joined.push(room);
      }
    }
    return Promise.resolve();
  }

  override leave(room: string): void {
    if (this.mockRooms.delete(room)) {
      this.left.push(room);
    }
  }

  override get rooms(): ReadonlySet<string> {
    return this.mockRooms;
  }

  override to(rooms: RoomTarget): BroadcastOperator<SwitchboardSocket> {
    return this.recorder().to(rooms).exceptClient(this.id);
  }

  override get broadcast(): BroadcastOperator<SwitchboardSocket> {
    return this.recorder().exceptClient(this.id);
  }

  /** Answers `client.request(event, data)` made by the code under test. */
  answerRequest(event: string, answer: (data: unknown) => unknown): this {
    this.requestAnswers.set(event, answer);
    return this;
  }

  override async request<T = unknown>(event: string, data?: unknown): Promise<T> {
    this.sent.push({ event, data, request: true });
    const answer = this.requestAnswers.get(event);
    if (answer === undefined) {
      throw new SwitchboardError(ErrorCode.REQUEST_TIMEOUT, `The mock socket has no answer for "${event}" (use answerRequest).`);
    }
    return (await answer(data)) as T;
  }

  /** The `{ event, data }` values sent (replies and pushes), without bare values. */
  events(): Array<{ event: string; data: unknown }> {
    return this.sent.filter((value): value is { event: string; data: unknown } => typeof (value as { event?: unknown })?.event === 'string');
  }

  private recorder(): BroadcastOperator<SwitchboardSocket> {
    return new BroadcastOperator<SwitchboardSocket>({
      path: this.handshake.route,
      codec,
      publish: (packet: BroadcastPacket) => {
        const { event, data } = JSON.parse(packet.frame.toString()) as { event: string; data: unknown };
        const { rooms, clientIds, exceptRooms, exceptClientIds, compress } = packet;
        this.broadcasts.push(stripUndefined({ event, data, rooms, clientIds, exceptRooms, exceptClientIds, compress }));
        return 0;
      },
      select: () => [],
      cluster: NO_CLUSTER,
    });
  }
}

/** A {@link MockSocket} for a unit test of one gateway method. */
export function createMockSocket<TData extends object = SocketData>(options: MockSocketOptions<TData> = {}): MockSocket<TData> {
  return MockSocket.create(options);
}

function decode(data: unknown): unknown {
  const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString() : undefined;
  if (text === undefined) {
    return data;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

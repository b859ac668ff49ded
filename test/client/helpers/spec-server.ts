import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A hand-written server that speaks /tmp/spec/protocol-recovery.md exactly,
 * for the client behaviours the adapter does not have yet ($ping/$pong,
 * $session, $joined/$left, positioned room frames, $recover with replay,
 * request dedup per session). It is small on purpose: one process, rooms as
 * in-memory logs, and every frame each side sent recorded for the tests.
 */

type Frame = Record<string, unknown>;

/** A request handler: its result is the ok ack's data; a throw `{ code, message }` is an error ack. */
export type SpecHandler = (data: unknown, socket: SpecSocket) => unknown;

interface Session {
  sid: string;
  rooms: Set<string>;
  /** Request id → the ack sent (or the promise of it while the handler runs). */
  acks: Map<unknown, Promise<Frame>>;
}

interface Stream {
  epoch: string;
  offset: number;
  /** The messages still replayable, in offset order. */
  log: Array<{ offset: number; frame: Frame }>;
}

export interface SpecServerOptions {
  /** Sessions, $joined/$left, positioned frames and $recover. Without: $recover gets UNKNOWN_EVENT, as the adapter answers today. @default true */
  recovery?: boolean;
  /** Messages kept per room for replay. @default 1000 */
  historySize?: number;
  /** Runs on each connection before anything is sent; may close it. */
  onConnection?: (socket: SpecSocket, request: IncomingMessage) => void;
}

/** One connection, as the server sees it. */
export class SpecSocket {
  /** Frames the client sent, decoded (text frames that are not JSON are kept as `{ raw }`). */
  readonly received: Frame[] = [];
  session?: Session;

  constructor(
    readonly ws: WebSocket,
    readonly request: IncomingMessage,
  ) {}

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  get url(): string {
    return this.request.url ?? '';
  }
}

export class SpecServer {
  readonly sockets = new Set<SpecSocket>();
  /** Every connection ever made, in order. */
  readonly connections: SpecSocket[] = [];
  /** When each connection was accepted (Date.now()). */
  readonly connectedAt: number[] = [];
  readonly handlers = new Map<string, SpecHandler>();
  /** Handler invocations per event (dedup must keep these at one per id). */
  readonly calls = new Map<string, number>();
  readonly sessions = new Map<string, Session>();
  readonly streams = new Map<string, Stream>();
  /** Stop answering `$ping` (the client must judge the connection dead). */
  deaf = false;
  /** How `$recover` is answered: as the spec says, with an error ack (a server without recovery), or not at all. */
  recoverAnswer: 'spec' | 'error' | 'never' = 'spec';
  /** Replay this many messages the client already had, too (a sloppy server: the client must drop them by offset). */
  replayOverlap = 0;
  readonly recovery: boolean;
  readonly historySize: number;
  private constructor(
    readonly wss: WebSocketServer,
    readonly options: SpecServerOptions,
  ) {
    this.recovery = options.recovery ?? true;
    this.historySize = options.historySize ?? 1000;
    wss.on('connection', (ws, request) => this.accept(ws, request));
  }

  static async start(options: SpecServerOptions = {}, port = 0): Promise<SpecServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port, clientTracking: false });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new SpecServer(wss, options);
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  /** The newest connection. */
  get last(): SpecSocket {
    return this.connections[this.connections.length - 1];
  }

  handle(event: string, handler: SpecHandler): this {
    this.handlers.set(event, handler);
    return this;
  }

  /** Server-side join: the room joins the socket's session, and the client hears `$joined` with the room's last offset. */
  join(socket: SpecSocket, room: string): void {
    const stream = this.stream(room);
    socket.session?.rooms.add(room);
    socket.send({ event: '$joined', data: { room, epoch: stream.epoch, offset: stream.offset } });
  }

  leave(socket: SpecSocket, room: string): void {
    socket.session?.rooms.delete(room);
    socket.send({ event: '$left', data: { room } });
  }

  /** A broadcast to one room: the next offset, logged, sent to every connected member. */
  publish(room: string, event: string, data: unknown): Frame {
    const stream = this.stream(room);
    stream.offset++;
    const frame = { event, data, room, epoch: stream.epoch, offset: stream.offset };
    stream.log.push({ offset: stream.offset, frame });
    if (stream.log.length > this.historySize) {
      stream.log.shift();
    }
    for (const socket of this.sockets) {
      if (socket.session?.rooms.has(room)) {
        socket.send(frame);
      }
    }
    return frame;
  }

  /** The stream lost its continuity (as after an engine restart): a new epoch, an empty log. */
  resetStream(room: string): void {
    this.streams.set(room, { epoch: `e${randomBytes(3).toString('hex')}`, offset: 0, log: [] });
  }

  /** Cuts every connection at once, without a close handshake (the client sees 1006). */
  dropAll(): void {
    for (const socket of this.sockets) {
      socket.ws.terminate();
    }
  }

  /** Forgets every session (a restarted server with in-memory sessions). */
  forgetSessions(): void {
    this.sessions.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private stream(room: string): Stream {
    let stream = this.streams.get(room);
    if (stream === undefined) {
      stream = { epoch: 'e1', offset: 0, log: [] };
      this.streams.set(room, stream);
    }
    return stream;
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const socket = new SpecSocket(ws, request);
    this.sockets.add(socket);
    this.connections.push(socket);
    this.connectedAt.push(Date.now());
    ws.on('close', () => this.sockets.delete(socket));
    ws.on('error', () => undefined);
    if (this.recovery) {
      const session: Session = { sid: randomBytes(18).toString('base64url'), rooms: new Set(), acks: new Map() };
      this.sessions.set(session.sid, session);
      socket.session = session;
      socket.send({ event: '$session', data: { sid: session.sid, ttl: 120_000 } });
    }
    this.options.onConnection?.(socket, request);
    if (ws.readyState !== ws.OPEN) {
      return;
    }
    ws.on('message', (raw, isBinary) => {
      let frame: Frame;
      try {
        frame = isBinary ? { binary: raw } : (JSON.parse(raw.toString()) as Frame);
      } catch {
        frame = { raw: raw.toString() };
      }
      socket.received.push(frame);
      void this.dispatch(socket, frame);
    });
  }

  private async dispatch(socket: SpecSocket, frame: Frame): Promise<void> {
    const { event, id, data } = frame;
    if (event === '$ping') {
      if (!this.deaf) {
        socket.send({ event: '$pong' });
      }
      return;
    }
    if (typeof event !== 'string' || id === undefined) {
      return; // an emit (recorded), or a client's ack to a server request (recorded)
    }
    if (event === '$recover' && this.recoverAnswer === 'never') {
      return;
    }
    if (event === '$recover' && this.recovery && this.recoverAnswer === 'spec') {
      socket.send({ id, status: 'ok', data: this.recover(socket, data as { sid: string; rooms: Record<string, { epoch: string; offset: number }> }) });
      return;
    }
    const session = socket.session;
    let ack = session?.acks.get(id);
    if (ack === undefined) {
      ack = this.run(socket, event, data, id);
      session?.acks.set(id, ack);
    }
    const answer = await ack;
    if (socket.ws.readyState === socket.ws.OPEN) {
      socket.send(answer);
    }
  }

  private async run(socket: SpecSocket, event: string, data: unknown, id: unknown): Promise<Frame> {
    const handler = this.handlers.get(event);
    if (handler === undefined) {
      return { id, status: 'error', error: { code: 'UNKNOWN_EVENT', message: 'No handler for this event.' } };
    }
    this.calls.set(event, (this.calls.get(event) ?? 0) + 1);
    try {
      const result = await handler(data, socket);
      return { id, status: 'ok', data: result ?? null };
    } catch (error) {
      const { code = 'INTERNAL', message = 'Internal server error', details } = error as { code?: string; message?: string; details?: unknown };
      return { id, status: 'error', error: { code, message, details } };
    }
  }

  /** The spec's `$recover`: restore the old session's rooms here, replay each room's gap (before the ack), answer per room. */
  private recover(socket: SpecSocket, request: { sid: string; rooms: Record<string, { epoch: string; offset: number }> }): Frame {
    const previous = this.sessions.get(request.sid);
    const session = socket.session!;
    if (previous === undefined || previous === session) {
      return { rooms: {}, session: 'expired' };
    }
    this.sessions.delete(previous.sid);
    for (const [id, ack] of previous.acks) {
      session.acks.set(id, ack);
    }
    const rooms: Record<string, Frame> = {};
    for (const room of previous.rooms) {
      session.rooms.add(room);
      const stream = this.stream(room);
      const known = Object.hasOwn(request.rooms, room) ? request.rooms[room] : undefined;
      const first = stream.log.length > 0 ? stream.log[0].offset : stream.offset + 1;
      if (known === undefined || known.epoch !== stream.epoch || known.offset + 1 < first) {
        rooms[room] = { recovered: false, epoch: stream.epoch, offset: stream.offset };
        continue;
      }
      const missed = stream.log.filter((entry) => entry.offset > known.offset - this.replayOverlap);
      for (const entry of missed) {
        socket.send(entry.frame);
      }
      rooms[room] = { recovered: true, epoch: stream.epoch, offset: stream.offset, replayed: missed.length };
    }
    return { rooms };
  }
}

/** Resolves once `condition()` holds (polled every 5 ms), or rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 3000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

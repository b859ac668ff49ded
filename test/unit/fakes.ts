import { Duplex } from 'node:stream';
import { jest } from '@jest/globals';
import type { Connection, GatewayContext } from '../../lib/connection/connection.interface.js';

// Type imports only: a spec that needs no Nest should not load it through its fakes (see fake-context.ts).

/** ws's ready states, spelled out so a fake never depends on the class under test. */
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

/**
 * The fields of `Connection` the unit tier reads or writes, on a plain
 * object: ready state, buffered bytes, the per-connection state fields and
 * the I/O methods as spies. `close()` moves to CLOSING as ws's does.
 */
export interface FakeConnection {
  readonly id: string;
  readyState: number;
  bufferedAmount: number;
  _server: GatewayContext | undefined;
  _extras: Connection['_extras'];
  _rooms: Set<string> | undefined;
  _corked: boolean;
  _inflight: number;
  _bytesSeen: number;
  _sender?: unknown;
  _extensions?: Record<string, unknown>;
  send: jest.Mock<(data: unknown, options?: unknown) => void>;
  close: jest.Mock<(code?: number, reason?: string) => void>;
  terminate: jest.Mock<() => void>;
}

let nextId = 0;

export function fakeConnection(fields: Partial<Omit<FakeConnection, 'send' | 'close' | 'terminate'>> = {}): FakeConnection & Connection {
  const connection: FakeConnection = {
    id: `c${++nextId}`,
    readyState: OPEN,
    bufferedAmount: 0,
    _server: undefined,
    _extras: undefined,
    _rooms: undefined,
    _corked: false,
    _inflight: 0,
    _bytesSeen: -1,
    ...fields,
    send: jest.fn(),
    close: jest.fn(() => {
      connection.readyState = CLOSING;
    }),
    terminate: jest.fn(() => {
      connection.readyState = CLOSED;
    }),
  };
  return connection as FakeConnection & Connection;
}

/**
 * A writable end that keeps what was written, as a TCP socket under an
 * upgrade or under ws's Sender would carry it.
 */
export class CaptureSocket extends Duplex {
  readonly chunks: Buffer[] = [];
  writes = 0;

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writes++;
    this.chunks.push(Buffer.from(chunk));
    callback();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writes++;
    this.chunks.push(Buffer.concat(chunks.map(({ chunk }) => chunk)));
    callback();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return this.bytes.toString('utf8');
  }
}

/** What a call threw (undefined when it returned). */
export function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

import { once } from 'node:events';
import WebSocket from 'ws';

/**
 * A `ws` client for tests that records every frame it receives, so a test can
 * wait for the next one, for one matching a predicate, or assert that none came.
 */
export class TestClient {
  readonly received: unknown[] = [];
  readonly rawFrames: Array<{ data: Buffer; isBinary: boolean }> = [];
  private waiters: Array<{ predicate: (value: unknown) => boolean; resolve: (value: unknown) => void }> = [];
  closeCode: number | undefined;
  closeReason: string | undefined;
  private readonly closed: Promise<void>;

  constructor(
    readonly socket: WebSocket,
    private readonly decode: (data: Buffer, isBinary: boolean) => unknown = (data) => JSON.parse(data.toString()),
  ) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      this.rawFrames.push({ data, isBinary });
      let value: unknown;
      try {
        value = this.decode(data, isBinary);
      } catch {
        value = { undecodable: data.toString() };
      }
      this.received.push(value);
      const index = this.waiters.findIndex((waiter) => waiter.predicate(value));
      if (index !== -1) {
        const [waiter] = this.waiters.splice(index, 1);
        waiter.resolve(value);
      }
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (code: number, reason: Buffer) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      });
    });
  }

  static async connect(url: string, options: WebSocket.ClientOptions & { decode?: (data: Buffer, isBinary: boolean) => unknown } = {}): Promise<TestClient> {
    const { decode, ...wsOptions } = options;
    const socket = new WebSocket(url, wsOptions);
    const client = new TestClient(socket, decode);
    await once(socket, 'open');
    return client;
  }

  send(value: unknown): void {
    this.socket.send(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value));
  }

  /** Resolves with the first frame (already received or future) that matches. */
  waitFor<T = unknown>(predicate: (value: any) => boolean, timeoutMs = 3000): Promise<T> {
    const seen = this.received.find(predicate);
    if (seen !== undefined) {
      this.received.splice(this.received.indexOf(seen), 1);
      return Promise.resolve(seen as T);
    }
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (value: unknown) => {
          clearTimeout(timer);
          this.received.splice(this.received.indexOf(value), 1);
          resolve(value as T);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`No matching frame within ${timeoutMs} ms; received: ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The ack for a message id. */
  ack<T = any>(id: string | number, timeoutMs?: number): Promise<T> {
    return this.waitFor<T>((value) => value?.id === id && 'status' in value, timeoutMs);
  }

  event<T = any>(event: string, timeoutMs?: number): Promise<T> {
    return this.waitFor<T>((value) => value?.event === event, timeoutMs);
  }

  /** Sends `{event, data, id}` and resolves with its ack. */
  async request<T = any>(event: string, data: unknown, id: string | number = Math.random().toString(36).slice(2)): Promise<T> {
    this.send({ event, data, id });
    return this.ack<T>(id);
  }

  /** Waits `ms` and returns every frame that arrived meanwhile. */
  async framesWithin(ms: number): Promise<unknown[]> {
    const start = this.received.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.received.slice(start);
  }

  async waitClose(timeoutMs = 3000): Promise<{ code: number | undefined; reason: string | undefined }> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return { code: this.closeCode, reason: this.closeReason };
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) {
      return;
    }
    this.socket.close();
    await this.closed;
  }
}

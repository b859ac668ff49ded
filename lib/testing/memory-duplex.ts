import { Duplex } from 'node:stream';

/**
 * One end of an in-memory connection. It looks enough like a `net.Socket`
 * for Node's HTTP server and `ws` (timeouts, Nagle, addresses, `bytesRead`,
 * which the heartbeat reads) while moving bytes through memory only: no
 * port, no file descriptor, nothing for Jest to find open afterwards.
 */
export class MemorySocket extends Duplex {
  peer: MemorySocket | undefined;
  bytesRead = 0;
  bytesWritten = 0;
  readonly remotePort: number;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly encrypted = false;
  connecting = false;

  constructor(readonly remoteAddress: string, remotePort: number) {
    super({ allowHalfOpen: false });
    this.remotePort = remotePort;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytesWritten += chunk.length;
    // Delivered on the next tick, as a real socket would: pushing synchronously
    // would run the peer's handlers inside this write.
    process.nextTick(deliver, this.peer, chunk);
    callback();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map(({ chunk }) => chunk)), 'binary', callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    process.nextTick(deliver, this.peer, null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    // The other end sees the connection go away, as after a TCP reset or FIN.
    process.nextTick(hangUp, peer);
    callback(error);
  }

  setTimeout(_ms: number, callback?: () => void): this {
    if (callback !== undefined) {
      this.off('timeout', callback);
    }
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }
}

function deliver(peer: MemorySocket | undefined, chunk: Buffer | null): void {
  if (peer === undefined || peer.destroyed) {
    return;
  }
  if (chunk !== null) {
    peer.bytesRead += chunk.length;
  }
  peer.push(chunk);
}

function hangUp(peer: MemorySocket | undefined): void {
  if (peer !== undefined && !peer.destroyed) {
    peer.push(null);
    peer.destroy();
  }
}

let nextPort = 40000;

/** Two connected in-memory sockets: what one writes, the other reads. */
export function createMemorySocketPair(remoteAddress = '127.0.0.1'): { client: MemorySocket; server: MemorySocket } {
  const port = nextPort++ % 60000 || 40000;
  const client = new MemorySocket('127.0.0.1', 0);
  const server = new MemorySocket(remoteAddress, port);
  client.peer = server;
  server.peer = client;
  return { client, server };
}

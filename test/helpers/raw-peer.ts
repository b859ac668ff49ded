import { connect, type Socket } from 'node:net';

/**
 * A WebSocket peer on a raw TCP socket: it completes the handshake and then
 * does only what the test tells it to (typically nothing: no pongs, no reads).
 */
export class RawPeer {
  readonly frames: Buffer[] = [];
  private buffered = Buffer.alloc(0);
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async open(port: number, path: string, extraHeaders = '', firstBytes?: Buffer): Promise<{ peer: RawPeer; response: string }> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const peer = new RawPeer(socket);
    const request =
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`;
    socket.write(firstBytes === undefined ? request : Buffer.concat([Buffer.from(request), firstBytes]));
    const response = await new Promise<string>((resolve) => {
      const onData = (chunk: Buffer): void => {
        peer.buffered = Buffer.concat([peer.buffered, chunk]);
        const end = peer.buffered.indexOf('\r\n\r\n');
        if (end !== -1) {
          socket.off('data', onData);
          const head = peer.buffered.subarray(0, end).toString();
          peer.buffered = peer.buffered.subarray(end + 4);
          socket.on('data', (more: Buffer) => peer.frames.push(more));
          if (peer.buffered.length > 0) {
            peer.frames.push(peer.buffered);
          }
          resolve(head);
        }
      };
      socket.on('data', onData);
    });
    return { peer, response };
  }

  /** Every byte received after the handshake response. */
  received(): Buffer {
    return Buffer.concat(this.frames);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A masked client text frame (clients must mask). */
export function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) {
    throw new Error('maskedTextFrame handles short payloads only');
  }
  const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

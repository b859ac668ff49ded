// Client for the compression memory scenario: the `ws` package, offering
// permessage-deflate with its defaults (the lean client offers no
// extension). zlib contexts are created lazily, on the first message that
// is compressed or inflated, so `connect` also sends one compressible echo
// message above the 1 KiB threshold and waits for the echo: after it, the
// server has inflated one message from this client and deflated one to it.
// Same interface as ws-json.mjs (connect and close; no cycle).
import WebSocket from 'ws';
import { EVENT, HOST, PATH } from '../../lib/wire.mjs';

/** About 2 KiB of JSON that compresses well (repeated chat-like lines), above the 1,024-byte threshold. */
const LINES = Array.from({ length: 24 }, (_, index) => ({ user: `u-${1000 + (index % 4)}`, text: `hello, benchmark line ${index}` }));
export const MESSAGE = JSON.stringify({ event: EVENT, data: { room: 'lobby', lines: LINES } });

const OPTIONS = { perMessageDeflate: true, skipUTF8Validation: true };

class DeflateConnection {
  constructor(ws, negotiated, wire) {
    this.ws = ws;
    /** Whether the server accepted permessage-deflate. */
    this.negotiated = negotiated;
    /** Bytes on the wire for the message sent and the reply received (frames included): small when compressed. */
    this.wire = wire;
  }

  close() {
    if (this.ws.readyState === WebSocket.CLOSED) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.ws.once('close', resolve);
      this.ws.close();
    });
  }
}

export function connect(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${HOST}:${port}${PATH}`, OPTIONS);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => {}); // Surfaces as the close that follows.
      const socket = ws._socket;
      const before = { read: socket.bytesRead, written: socket.bytesWritten };
      const timer = setTimeout(() => reject(new Error('no echo of the compressible message within 10 s')), 10_000);
      ws.once('message', (reply) => {
        clearTimeout(timer);
        if (reply.toString() !== MESSAGE) {
          reject(new Error(`unexpected reply: ${reply.toString().slice(0, 200)}`));
          return;
        }
        const negotiated = ws.extensions.includes('permessage-deflate');
        resolve(new DeflateConnection(ws, negotiated, { sent: socket.bytesWritten - before.written, received: socket.bytesRead - before.read }));
      });
      ws.send(MESSAGE);
    });
  });
}

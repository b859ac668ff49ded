// A minimal, protocol-correct WebSocket client on `net`, used by default for
// the ws-protocol servers. Why: the `ws` package client costs about as much
// CPU per message as a `ws` server (masking, framing, one write per send)
// and more per connection (http.request, header parsing), so with one core
// each the load generator would saturate together with the server and could
// become the limit. This client does the minimum a client must: a real
// upgrade request with its 101 + Sec-WebSocket-Accept check, masked frames,
// the close handshake. The servers cannot tell it from any other client.
// BENCH_WS_CLIENT=ws switches back to the `ws` package for a cross-check.
import { connect as tcpConnect } from 'node:net';
import { HOST, PATH } from '../../lib/wire.mjs';

// The key and accept value of RFC 6455, section 1.3: a fixed key is legal,
// and a fixed expected answer keeps the check cheap.
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

// One fixed masking key: servers unmask every frame the same way whatever
// the key, and a fixed one lets constant frames be masked once, up front.
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

/** A complete client frame: FIN, the opcode, the mask bit, the length, the mask key, the masked payload. */
export function maskedFrame(payload, opcode = OPCODE_TEXT) {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + lengthBytes + 4 + length);
  frame[0] = 0x80 | opcode;
  if (lengthBytes === 0) {
    frame[1] = 0x80 | length;
  } else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const start = 2 + lengthBytes + 4;
  MASK.copy(frame, start - 4);
  for (let i = 0; i < length; i++) {
    frame[start + i] = payload[i] ^ MASK[i & 3];
  }
  return frame;
}

/** Close with status 1000. */
const CLOSE_FRAME = maskedFrame(Buffer.from([0x03, 0xe8]), OPCODE_CLOSE);

const requests = new Map();

function upgradeRequest(port, path) {
  const key = `${port} ${path}`;
  let request = requests.get(key);
  if (request === undefined) {
    request = Buffer.from(
      `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      'latin1',
    );
    requests.set(key, request);
  }
  return request;
}

/**
 * One read buffer for every connection opened with `sharedReadBuffer`
 * (Node's `onread` option): a read lands in it and is parsed at once,
 * without the allocation and stream machinery of a 'data' event. Reads are
 * handled one at a time on the main thread, so sharing is safe as long as
 * nothing keeps a view of it after the callback (partial frames are copied).
 */
const SHARED_READ = Buffer.allocUnsafe(256 * 1024);

/**
 * Opens a TCP connection and upgrades it; resolves with the socket and any
 * bytes that followed the 101 headers (and, with `sharedReadBuffer`, the
 * function that sets where later reads go).
 */
function upgrade(port, path, sharedReadBuffer = false) {
  return new Promise((resolve, reject) => {
    let reader;
    const options = { host: HOST, port, noDelay: true };
    if (sharedReadBuffer) {
      options.onread = { buffer: SHARED_READ, callback: (nread, buffer) => void reader(buffer.subarray(0, nread)) };
    }
    const socket = tcpConnect(options);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = head.length > 0 ? Buffer.concat([head, chunk]) : sharedReadBuffer ? Buffer.from(chunk) : chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        return;
      }
      const headers = head.toString('latin1', 0, end + 2);
      socket.off('data', onData);
      socket.off('error', reject);
      socket.off('close', onEarlyClose);
      reader = () => {};
      if (!headers.startsWith('HTTP/1.1 101') || !headers.includes(`\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n`)) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${headers.split('\r\n', 1)[0]}`));
        return;
      }
      const setReader = sharedReadBuffer
        ? (next) => {
            reader = next;
          }
        : undefined;
      resolve({ socket, rest: head.subarray(end + 4), setReader });
    };
    const onEarlyClose = () => reject(new Error('connection closed before the upgrade'));
    reader = onData;
    socket.on('connect', () => socket.write(upgradeRequest(port, path)));
    if (!sharedReadBuffer) {
      socket.on('data', onData);
    }
    socket.on('error', reject);
    socket.on('close', onEarlyClose);
  });
}

/**
 * An upgraded connection. Incoming frames are parsed just enough to count
 * complete messages per read; the callback gets how many arrived (and their
 * payloads when `keepPayloads` is set, for validation). `write()` sends
 * ready-made frames, several in one write when the caller has several.
 * With a shared read buffer (`setReader`), the payloads are views of it:
 * valid only until the callback returns.
 */
export class LeanConnection {
  keepPayloads = false;
  #socket;
  #pending = undefined;
  #onMessages = () => {};
  #closed;
  #closeSent = false;
  #early;

  #shared;

  constructor(socket, rest, setReader) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {}); // Surfaces as the close that follows.
    this.#shared = setReader !== undefined;
    if (this.#shared) {
      setReader((chunk) => this.#read(chunk));
    } else {
      socket.on('data', (chunk) => this.#read(chunk));
    }
    // Bytes that came with the 101 (a server that speaks first, like engine.io's open packet) wait for a callback.
    this.#early = rest.length > 0 ? rest : undefined;
  }

  onMessages(callback) {
    this.#onMessages = callback;
    if (this.#early !== undefined) {
      const early = this.#early;
      this.#early = undefined;
      this.#read(early);
    }
  }

  write(frames) {
    this.#socket.write(frames);
  }

  /** Sends the close frame and resolves when the server closed the TCP connection (it closes first, as RFC 6455 asks). */
  close() {
    if (!this.#closeSent && !this.#socket.destroyed) {
      this.#closeSent = true;
      this.#socket.write(CLOSE_FRAME);
    }
    return this.#closed;
  }

  #read(chunk) {
    const buffer = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    const payloads = this.keepPayloads ? [] : undefined;
    let offset = 0;
    let count = 0;
    while (buffer.length - offset >= 2) {
      const first = buffer[offset];
      let length = buffer[offset + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buffer.length - offset < 4) {
          break;
        }
        length = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (buffer.length - offset < 10) {
          break;
        }
        length = Number(buffer.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (buffer.length - offset < header + length) {
        break;
      }
      const opcode = first & 0x0f;
      const payload = buffer.subarray(offset + header, offset + header + length);
      offset += header + length;
      if (opcode === OPCODE_CLOSE) {
        this.close(); // Answer the server's close; it then ends the TCP connection.
      } else if (opcode === OPCODE_PING) {
        this.#socket.write(maskedFrame(payload, OPCODE_PONG));
      } else if (opcode !== OPCODE_PONG && (first & 0x80) !== 0) {
        // A final text/binary frame (the servers here never fragment their small replies).
        count++;
        payloads?.push(payload);
      }
    }
    // A partial frame waits for the next read; out of the shared buffer, it must be copied.
    this.#pending = offset >= buffer.length ? undefined : this.#shared && buffer === chunk ? Buffer.from(buffer.subarray(offset)) : buffer.subarray(offset);
    if (count > 0) {
      this.#onMessages(count, payloads);
    }
  }
}

/**
 * `path` (with its query string): the upgrade URL; PATH unless a protocol
 * needs more (socket.io's `?EIO=4&transport=websocket`).
 * `sharedReadBuffer`: read into the shared buffer (fan-out receivers, many
 * connections each reading small messages; see SHARED_READ).
 */
export async function openLean(port, path = PATH, { sharedReadBuffer = false } = {}) {
  const { socket, rest, setReader } = await upgrade(port, path, sharedReadBuffer);
  return new LeanConnection(socket, rest, setReader);
}

/** One connect/close cycle, for the connection-rate test. */
export async function leanCycle(port) {
  const connection = await openLean(port);
  await connection.close();
}

// Client for the ws-protocol servers (raw ws, WsAdapter, SwitchboardAdapter
// without ids): {"event":"echo","data":…} out, {"event":"echo","data":…} back.
//
// Every client module exports the same interface:
//   connect(port, { lean }) -> connection with
//     onReplies(callback(count, payloads?)), send(count), keepPayloads,
//     isExpected(payload), close() -> Promise (resolves once fully closed)
//   cycle(port, { lean }) -> Promise: one connect + close
// `lean` picks lean-ws.mjs (default) or the `ws` package.
import WebSocket from 'ws';
import { DATA, EVENT, HOST, PATH } from '../../lib/wire.mjs';
import { leanCycle, maskedFrame, openLean } from './lean-ws.mjs';

const MESSAGE = JSON.stringify({ event: EVENT, data: DATA });

/** Checks one reply; shared by both client implementations. */
export function isEcho(payload) {
  const reply = JSON.parse(payload.toString());
  return reply.event === EVENT && reply.data?.seq === DATA.seq;
}

// ---- lean client: constant message, so frames are built (and masked) once.

const FRAME = maskedFrame(Buffer.from(MESSAGE));
let frames = FRAME;

/** `count` copies of the frame, as one buffer (grown on demand, then sliced). */
function framesFor(count) {
  if (frames.length < count * FRAME.length) {
    frames = Buffer.concat(Array.from({ length: count }, () => FRAME));
  }
  return frames.subarray(0, count * FRAME.length);
}

class LeanJsonConnection {
  constructor(connection) {
    this.connection = connection;
  }

  set keepPayloads(value) {
    this.connection.keepPayloads = value;
  }

  onReplies(callback) {
    this.connection.onMessages(callback);
  }

  send(count) {
    this.connection.write(framesFor(count));
  }

  isExpected(payload) {
    return isEcho(payload);
  }

  close() {
    return this.connection.close();
  }
}

// ---- `ws` package client.

// Compression is off on every server; not offering it keeps the handshakes equal.
const OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true };

export function openPackageSocket(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${HOST}:${port}${PATH}`, OPTIONS);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => {}); // Surfaces as the close that follows.
      resolve(ws);
    });
  });
}

export function closePackageSocket(ws) {
  if (ws.readyState === WebSocket.CLOSED) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    ws.once('close', resolve);
    ws.close();
  });
}

export class PackageJsonConnection {
  keepPayloads = false;

  constructor(ws) {
    this.ws = ws;
  }

  onReplies(callback) {
    this.ws.on('message', (payload) => callback(1, this.keepPayloads ? [payload] : undefined));
  }

  send(count) {
    for (let i = 0; i < count; i++) {
      this.ws.send(MESSAGE);
    }
  }

  isExpected(payload) {
    return isEcho(payload);
  }

  close() {
    return closePackageSocket(this.ws);
  }
}

export async function connect(port, { lean = true } = {}) {
  return lean ? new LeanJsonConnection(await openLean(port)) : new PackageJsonConnection(await openPackageSocket(port));
}

export function cycle(port, { lean = true } = {}) {
  return lean ? leanCycle(port) : openPackageSocket(port).then(closePackageSocket);
}

// Client for the ws-protocol servers (raw ws, WsAdapter, SwitchboardAdapter
// without ids): {"event":"echo","data":…} out, {"event":"echo","data":…} back.
//
// Every client module exports the same interface:
//   connect(port, { lean }) -> connection with
//     onReplies(callback(count, payloads?)), send(count), keepPayloads,
//     isExpected(payload), close() -> Promise (resolves once fully closed)
//   cycle(port, { lean }) -> Promise: one connect + close
//   joinRoom(port, { lean, room, onTick }) -> member (fan-out, see load/fanout.mjs)
// `lean` picks lean-ws.mjs (default) or the `ws` package.
import WebSocket from 'ws';
import { DATA, EVENT, FANOUT, HOST, PATH, epochNow } from '../../lib/wire.mjs';
import { leanCycle, maskedFrame, openLean } from './lean-ws.mjs';
import { isTick, readTick, TICK } from './ticks.mjs';

const MESSAGE = JSON.stringify({ event: EVENT, data: DATA });

const EVENT_PREFIX = Buffer.from('{"event":"$');
/** A frame of the library's own protocol (`$session`, `$joined`...): one byte compare in the common case. */
function isLibraryEvent(payload) {
  return payload[10] === 0x24 && payload.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX);
}

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

// ---- Fan-out members: join a room, then receive ticks.

const joinMessage = (room) => JSON.stringify({ event: FANOUT.join, data: room });

function isJoined(payload, room) {
  const reply = JSON.parse(payload.toString());
  return reply?.event === FANOUT.joined && reply.data === room;
}

/**
 * A room member on the lean client. `onTick(seq, t, receivedAt)` is called
 * for every tick (seq -1: a message that is not a valid tick); the receipt
 * time is taken once per read. `validate` turns on the full JSON check.
 */
class LeanMember {
  validate = false;

  constructor(connection, onTick) {
    this.connection = connection;
    this.onTick = onTick;
    connection.keepPayloads = true;
  }

  join(room) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${FANOUT.joined}" reply within 10 s`)), 10_000);
      this.connection.onMessages((count, all) => {
        // Recovery's own frames ($session, $joined) are not the gateway's: skipped, for every target alike.
        const payloads = all.filter((payload) => !isLibraryEvent(payload));
        if (payloads.length === 0) {
          return;
        }
        clearTimeout(timer);
        if (!isJoined(payloads[0], room)) {
          reject(new Error(`expected "${FANOUT.joined}", got ${payloads[0].toString().slice(0, 200)}`));
          return;
        }
        this.connection.onMessages((_count, more) => this.ticks(more, 0));
        this.ticks(payloads, 1);
        resolve(this);
      });
      this.connection.write(maskedFrame(Buffer.from(joinMessage(room))));
    });
  }

  ticks(payloads, from) {
    if (from >= payloads.length) {
      return;
    }
    const receivedAt = epochNow();
    for (let i = from; i < payloads.length; i++) {
      if (isLibraryEvent(payloads[i])) {
        continue;
      }
      const seq = readTick(payloads[i]);
      if (seq < 0 || (this.validate && !isTick(JSON.parse(payloads[i].toString()), seq, TICK.t))) {
        this.onTick(-1, NaN, receivedAt);
      } else {
        this.onTick(seq, TICK.t, receivedAt);
      }
    }
  }

  close() {
    return this.connection.close();
  }
}

/** The same on the `ws` package client (BENCH_WS_CLIENT=ws): one 'message' event per tick. */
class PackageMember {
  validate = false;

  constructor(ws, onTick) {
    this.ws = ws;
    this.onTick = onTick;
  }

  join(room) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${FANOUT.joined}" reply within 10 s`)), 10_000);
      const onFirst = (payload) => {
        if (isLibraryEvent(payload)) {
          this.ws.once('message', onFirst);
          return;
        }
        clearTimeout(timer);
        if (!isJoined(payload, room)) {
          reject(new Error(`expected "${FANOUT.joined}", got ${payload.toString().slice(0, 200)}`));
          return;
        }
        this.ws.on('message', (tick) => {
          if (isLibraryEvent(tick)) {
            return;
          }
          const receivedAt = epochNow();
          const seq = readTick(tick);
          if (seq < 0 || (this.validate && !isTick(JSON.parse(tick.toString()), seq, TICK.t))) {
            this.onTick(-1, NaN, receivedAt);
          } else {
            this.onTick(seq, TICK.t, receivedAt);
          }
        });
        resolve(this);
      };
      this.ws.once('message', onFirst);
      this.ws.send(joinMessage(room));
    });
  }

  close() {
    return closePackageSocket(this.ws);
  }
}

export async function joinRoom(port, { lean = true, room, onTick }) {
  const member = lean ? new LeanMember(await openLean(port, PATH, { sharedReadBuffer: true }), onTick) : new PackageMember(await openPackageSocket(port), onTick);
  return member.join(room);
}

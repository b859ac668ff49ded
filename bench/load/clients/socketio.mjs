// socket.io-client, websocket transport only (no long-polling handshake):
// what a socket.io user's Node client does, one Manager per connection.
import { io } from 'socket.io-client';
import { DATA, EVENT, FANOUT, HOST, PATH, epochNow } from '../../lib/wire.mjs';
import { maskedFrame, openLean } from './lean-ws.mjs';
import { isTick, readTick, TICK } from './ticks.mjs';

const OPTIONS = {
  path: PATH,
  transports: ['websocket'],
  // Without forceNew every io() call to the same URL would share one Manager, so one TCP connection.
  forceNew: true,
  reconnection: false,
};

/** The interface of ws-json.mjs; socket.io has one client only, so `lean` is ignored. */
class SocketIoConnection {
  keepPayloads = false;

  constructor(socket) {
    this.socket = socket;
  }

  onReplies(callback) {
    this.socket.on(EVENT, (data) => callback(1, this.keepPayloads ? [data] : undefined));
  }

  send(count) {
    for (let i = 0; i < count; i++) {
      this.socket.emit(EVENT, DATA);
    }
  }

  isExpected(data) {
    return data?.seq === DATA.seq;
  }

  /** Resolves once the underlying WebSocket closed, not just when socket.io says it disconnected. */
  close() {
    const ws = this.socket.io.engine?.transport?.ws;
    const closed = ws === undefined || ws === null || ws.readyState === 3 ? Promise.resolve() : new Promise((resolve) => ws.once('close', resolve));
    this.socket.disconnect();
    return closed;
  }
}

export function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = io(`http://${HOST}:${port}`, OPTIONS);
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
    socket.once('connect', () => resolve(new SocketIoConnection(socket)));
  });
}

export async function cycle(port) {
  const connection = await connect(port);
  await connection.close();
}

/**
 * A fan-out room member (see ws-json.mjs for the interface): emits `join`
 * with the room, waits for `joined`, then reports every `tick` with the
 * time its callback ran. `lean` (BENCH_SIO_CLIENT=lean) uses LeanSocketIoMember
 * below instead of socket.io-client.
 */
export async function joinRoom(port, { lean = false, room, onTick }) {
  if (lean) {
    return new LeanSocketIoMember(await openLean(port, `${PATH}/?EIO=4&transport=websocket`, { sharedReadBuffer: true }), onTick).join(room);
  }
  const connection = await connect(port);
  const { socket } = connection;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${FANOUT.joined}" reply within 10 s`)), 10_000);
    socket.once(FANOUT.joined, (data) => {
      clearTimeout(timer);
      if (data === room) {
        resolve();
      } else {
        reject(new Error(`expected "${FANOUT.joined}" for ${room}, got ${JSON.stringify(data)}`));
      }
    });
    socket.emit(FANOUT.join, room);
  });
  const member = { validate: false, close: () => connection.close() };
  socket.on(FANOUT.event, (data) => {
    const receivedAt = epochNow();
    const { seq, t } = data ?? {};
    if (!Number.isSafeInteger(seq) || typeof t !== 'number' || (member.validate && !isTick({ event: FANOUT.event, data }, seq, t))) {
      onTick(-1, NaN, receivedAt);
    } else {
      onTick(seq, t, receivedAt);
    }
  });
  return member;
}

// ---- A lean socket.io client, for the fan-out cross-check.
//
// socket.io-client costs the load generator about half as much again per
// delivery as the lean WebSocket client, so with both on one core it can
// be the one falling behind. This speaks the same protocol on the lean
// WebSocket client: engine.io v4 over a WebSocket (open packet `0{…}`,
// ping `2` answered by pong `3`, messages `4…`) carrying socket.io v5
// packets (CONNECT `40`, EVENT `42[name, data]`). Ticks are read with the
// same scan as the ws-protocol servers' ticks.

const PONG = maskedFrame(Buffer.from('3'));
const CONNECT = maskedFrame(Buffer.from('40'));

class LeanSocketIoMember {
  validate = false;

  constructor(connection, onTick) {
    this.connection = connection;
    this.onTick = onTick;
    connection.keepPayloads = true;
  }

  join(room) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lean socket.io: no "${FANOUT.joined}" within 10 s (state ${state})`)), 10_000);
      let state = 'open';
      const fail = (payload) => {
        clearTimeout(timer);
        reject(new Error(`lean socket.io: unexpected ${JSON.stringify(payload.toString().slice(0, 200))} while waiting for ${state}`));
      };
      this.connection.onMessages((_count, payloads) => {
        for (let i = 0; i < payloads.length; i++) {
          const payload = payloads[i];
          if (payload.length === 1 && payload[0] === 0x32) {
            this.connection.write(PONG); // Engine.io ping.
            continue;
          }
          const text = payload.toString();
          if (state === 'open' && text.startsWith('0{')) {
            state = 'connect';
            this.connection.write(CONNECT);
          } else if (state === 'connect' && text.startsWith('40')) {
            state = 'joined';
            this.connection.write(maskedFrame(Buffer.from(`42${JSON.stringify([FANOUT.join, room])}`)));
          } else if (state === 'joined' && text === `42${JSON.stringify([FANOUT.joined, room])}`) {
            clearTimeout(timer);
            this.connection.onMessages((_more, ticks) => this.ticks(ticks, 0));
            this.ticks(payloads, i + 1);
            resolve(this);
            return;
          } else {
            fail(payload);
            return;
          }
        }
      });
    });
  }

  ticks(payloads, from) {
    if (from >= payloads.length) {
      return;
    }
    const receivedAt = epochNow();
    for (let i = from; i < payloads.length; i++) {
      const payload = payloads[i];
      if (payload.length === 1 && payload[0] === 0x32) {
        this.connection.write(PONG);
        continue;
      }
      const seq = readTick(payload);
      if (seq < 0 || payload[0] !== 0x34 || payload[1] !== 0x32 || (this.validate && !isLeanTick(payload, seq))) {
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

function isLeanTick(payload, seq) {
  const [event, data] = JSON.parse(payload.toString().slice(2));
  return isTick({ event, data }, seq, TICK.t);
}

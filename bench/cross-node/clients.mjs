// The load generator's clients, one per connection, for both protocols:
//
// | protocol | client 'lean' (default)                                   | client 'package'                    |
// |----------|-----------------------------------------------------------|-------------------------------------|
// | ws       | bench/load/clients/lean-ws.mjs (net, masked frames)       | the `ws` package                    |
// | sio      | engine.io v4 + socket.io v5 packets on the same lean client | socket.io-client, websocket only    |
//
// The lean clients do the minimum a client must (real upgrade, masking,
// pings answered, close handshake) and read `seq` and `t` with one scan
// (bench/load/clients/ticks.mjs); both protocols then cost the generator
// about the same per delivery, so the comparison is of the servers. The
// package clients are what applications use (XNODE_CLIENT=package).
//
// joinRoom(protocol, client, port, room, onDelivery) -> member with
//   send(seq, t): one `say` with the 256-byte body; close().
// onDelivery(seq, t, receivedAt): every `said` (seq -1: unreadable).
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { maskedFrame, openLean } from '../load/clients/lean-ws.mjs';
import { readTick, TICK } from '../load/clients/ticks.mjs';
import { body, bodyObject, epochNow, EVENTS, HOST, PATH } from './wire.mjs';

const JOIN_TIMEOUT_MS = 15_000;

export function joinRoom(protocol, client, port, room, onDelivery) {
  if (protocol === 'ws') {
    return client === 'package' ? joinWsPackage(port, room, onDelivery) : joinWsLean(port, room, onDelivery);
  }
  return client === 'package' ? joinSocketIoClient(port, room, onDelivery) : joinSocketIoLean(port, room, onDelivery);
}

function withTimeout(what, executor) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${JOIN_TIMEOUT_MS} ms`)), JOIN_TIMEOUT_MS);
    executor(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

// ---- ws protocol: {"event":…,"data":…}

const wsJoined = (room) => JSON.stringify({ event: EVENTS.joined, data: room });
const wsSay = (seq, t, room) => `{"event":"${EVENTS.say}","data":${body(seq, t, room)}}`;

async function joinWsLean(port, room, onDelivery) {
  const connection = await openLean(port, PATH, { sharedReadBuffer: true });
  connection.keepPayloads = true;
  const expected = wsJoined(room);
  await withTimeout(`join ${room}`, (resolve, reject) => {
    connection.onMessages((_count, payloads) => {
      if (payloads[0].toString() !== expected) {
        reject(new Error(`expected ${expected}, got ${payloads[0].toString().slice(0, 200)}`));
        return;
      }
      connection.onMessages((_more, messages) => deliveries(messages, 0, onDelivery));
      deliveries(payloads, 1, onDelivery);
      resolve();
    });
    connection.write(maskedFrame(Buffer.from(JSON.stringify({ event: EVENTS.join, data: room }))));
  });
  return {
    send: (seq, t) => connection.write(maskedFrame(Buffer.from(wsSay(seq, t, room)))),
    close: () => connection.close(),
  };
}

/** Payloads of one read (views of the shared read buffer: read at once). */
function deliveries(payloads, from, onDelivery) {
  if (from >= payloads.length) {
    return;
  }
  const receivedAt = epochNow();
  for (let i = from; i < payloads.length; i++) {
    const payload = payloads[i];
    if (payload.length === 1 && payload[0] === 0x32) {
      continue; // engine.io ping: answered by the caller.
    }
    const seq = readTick(payload);
    onDelivery(seq, seq < 0 ? NaN : TICK.t, receivedAt);
  }
}

async function joinWsPackage(port, room, onDelivery) {
  const ws = await new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${HOST}:${port}${PATH}`, { perMessageDeflate: false });
    socket.once('error', reject);
    socket.once('open', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
  const expected = wsJoined(room);
  await withTimeout(`join ${room}`, (resolve, reject) => {
    ws.once('message', (payload) => {
      if (payload.toString() !== expected) {
        reject(new Error(`expected ${expected}, got ${payload.toString().slice(0, 200)}`));
        return;
      }
      ws.on('message', (message) => {
        const seq = readTick(message);
        onDelivery(seq, seq < 0 ? NaN : TICK.t, epochNow());
      });
      resolve();
    });
    ws.send(JSON.stringify({ event: EVENTS.join, data: room }));
  });
  return {
    send: (seq, t) => ws.send(wsSay(seq, t, room)),
    close: () =>
      ws.readyState === WebSocket.CLOSED
        ? Promise.resolve()
        : new Promise((resolve) => {
            ws.once('close', resolve);
            ws.close();
          }),
  };
}

// ---- socket.io: engine.io v4 (open `0{…}`, ping `2` / pong `3`, message `4…`) carrying socket.io v5 (CONNECT `40`, EVENT `42[name, data]`).

const PONG = maskedFrame(Buffer.from('3'));
const CONNECT = maskedFrame(Buffer.from('40'));
const sioSay = (seq, t, room) => `42["${EVENTS.say}",${body(seq, t, room)}]`;

async function joinSocketIoLean(port, room, onDelivery) {
  const connection = await openLean(port, `${PATH}/?EIO=4&transport=websocket`, { sharedReadBuffer: true });
  connection.keepPayloads = true;
  const joined = `42${JSON.stringify([EVENTS.joined, room])}`;
  await withTimeout(`join ${room}`, (resolve, reject) => {
    let state = 'open';
    connection.onMessages((_count, payloads) => {
      for (let i = 0; i < payloads.length; i++) {
        const payload = payloads[i];
        if (payload.length === 1 && payload[0] === 0x32) {
          connection.write(PONG);
          continue;
        }
        const text = payload.toString();
        if (state === 'open' && text.startsWith('0{')) {
          state = 'connect';
          connection.write(CONNECT);
        } else if (state === 'connect' && text.startsWith('40')) {
          state = 'join';
          connection.write(maskedFrame(Buffer.from(`42${JSON.stringify([EVENTS.join, room])}`)));
        } else if (state === 'join' && text === joined) {
          connection.onMessages((_more, messages) => {
            for (const message of messages) {
              if (message.length === 1 && message[0] === 0x32) {
                connection.write(PONG);
              }
            }
            deliveries(messages, 0, onDelivery);
          });
          deliveries(payloads, i + 1, onDelivery);
          resolve();
          return;
        } else {
          reject(new Error(`socket.io: unexpected ${JSON.stringify(text.slice(0, 200))} in state ${state}`));
          return;
        }
      }
    });
  });
  return {
    send: (seq, t) => connection.write(maskedFrame(Buffer.from(sioSay(seq, t, room)))),
    close: () => connection.close(),
  };
}

async function joinSocketIoClient(port, room, onDelivery) {
  const socket = io(`http://${HOST}:${port}`, { path: PATH, transports: ['websocket'], forceNew: true, reconnection: false });
  await withTimeout(`connect`, (resolve, reject) => {
    socket.once('connect_error', reject);
    socket.once('connect', resolve);
  });
  await withTimeout(`join ${room}`, (resolve, reject) => {
    socket.once(EVENTS.joined, (data) => (data === room ? resolve() : reject(new Error(`joined ${JSON.stringify(data)}, expected ${room}`))));
    socket.emit(EVENTS.join, room);
  });
  socket.on(EVENTS.said, (data) => {
    const receivedAt = epochNow();
    const ok = Number.isSafeInteger(data?.seq) && typeof data.t === 'number';
    onDelivery(ok ? data.seq : -1, ok ? data.t : NaN, receivedAt);
  });
  return {
    send: (seq, t) => socket.emit(EVENTS.say, bodyObject(seq, t, room)),
    close: () => {
      const ws = socket.io.engine?.transport?.ws;
      const closed = ws === undefined || ws === null || ws.readyState === 3 ? Promise.resolve() : new Promise((resolve) => ws.once('close', resolve));
      socket.disconnect();
      return closed;
    },
  };
}

// What servers and load generators agree on.

/** Every server serves its WebSocket (or socket.io) endpoint on this path. */
export const PATH = '/bench';

/** The one event the echo handler subscribes to; its reply carries the same name. */
export const EVENT = 'echo';

export const HOST = '127.0.0.1';

/** The echo payload: small, like a typical chat or state-update message. */
export const DATA = { room: 'lobby', user: 'u-1234', text: 'hello, benchmark', seq: 42 };

/**
 * Fan-out: clients send `join` with the room name and get `joined` back;
 * the server then broadcasts `tick` messages to the room. Every tick
 * carries its sequence number and the sender's clock (`t`, epoch ms:
 * `performance.timeOrigin + performance.now()`, which both processes
 * share), first, so the load generator finds them without a full parse.
 */
export const FANOUT = { join: 'join', joined: 'joined', event: 'tick', room: 'fanout' };

/** The data of one tick: the same small chat-like body as the echo payload, after seq and t. */
export function tickData(seq, t) {
  return { seq, t, room: 'lobby', user: 'u-1234', text: 'hello, benchmark' };
}

/** Epoch milliseconds with sub-microsecond resolution, comparable across processes of this machine. */
export function epochNow() {
  return performance.timeOrigin + performance.now();
}

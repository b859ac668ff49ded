// What servers and load generators agree on.

/** Every server serves its WebSocket (or socket.io) endpoint on this path. */
export const PATH = '/bench';

/** The one event the echo handler subscribes to; its reply carries the same name. */
export const EVENT = 'echo';

export const HOST = '127.0.0.1';

/** The echo payload: small, like a typical chat or state-update message. */
export const DATA = { room: 'lobby', user: 'u-1234', text: 'hello, benchmark', seq: 42 };

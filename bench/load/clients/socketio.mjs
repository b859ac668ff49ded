// socket.io-client, websocket transport only (no long-polling handshake):
// what a socket.io user's Node client does, one Manager per connection.
import { io } from 'socket.io-client';
import { DATA, EVENT, HOST, PATH } from '../../lib/wire.mjs';

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

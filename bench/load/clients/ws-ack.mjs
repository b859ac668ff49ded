// SwitchboardAdapter's ack protocol: every message carries an id, the reply
// is {id, status: 'ok', data: <the handler's result>}. Same interface as
// ws-json.mjs.
import { DATA, EVENT } from '../../lib/wire.mjs';
import { maskedFrame, openLean } from './lean-ws.mjs';
import { cycle, openPackageSocket, PackageJsonConnection } from './ws-json.mjs';

// The message with its id spliced in: cheaper for the load generator than
// JSON.stringify per message, and the same bytes.
const PREFIX = JSON.stringify({ event: EVENT, data: DATA }).slice(0, -1) + ',"id":';

const message = (id) => PREFIX + id + '}';

/** Replies come back in order (the handler is synchronous), so the n-th reply acks id n. */
function isAck(payload, id) {
  const reply = JSON.parse(payload.toString());
  return reply.id === id && reply.status === 'ok' && reply.data?.event === EVENT && reply.data.data?.seq === DATA.seq;
}

class LeanAckConnection {
  sent = 0;
  received = 0;

  constructor(connection) {
    this.connection = connection;
  }

  set keepPayloads(value) {
    this.connection.keepPayloads = value;
  }

  onReplies(callback) {
    this.connection.onMessages((count, payloads) => {
      this.received += count;
      callback(count, payloads);
    });
  }

  send(count) {
    const frames = new Array(count);
    for (let i = 0; i < count; i++) {
      frames[i] = maskedFrame(Buffer.from(message(++this.sent)));
    }
    this.connection.write(count === 1 ? frames[0] : Buffer.concat(frames));
  }

  /** Called right after onReplies' callback for the same batch: ids run up to `received`. */
  isExpected(payload, indexInBatch, batchSize) {
    return isAck(payload, this.received - batchSize + indexInBatch + 1);
  }

  close() {
    return this.connection.close();
  }
}

class PackageAckConnection extends PackageJsonConnection {
  sent = 0;
  received = 0;

  onReplies(callback) {
    this.ws.on('message', (payload) => {
      this.received++;
      callback(1, this.keepPayloads ? [payload] : undefined);
    });
  }

  send(count) {
    for (let i = 0; i < count; i++) {
      this.ws.send(message(++this.sent));
    }
  }

  isExpected(payload) {
    return isAck(payload, this.received);
  }
}

export async function connect(port, { lean = true } = {}) {
  return lean ? new LeanAckConnection(await openLean(port)) : new PackageAckConnection(await openPackageSocket(port));
}

export { cycle };

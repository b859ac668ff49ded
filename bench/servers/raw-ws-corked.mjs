// The honest echo ceiling: the raw ws server (same dispatch, same `ws`
// server, see raw-ws.mjs) that also writes the replies of one tick with one
// syscall. On the first reply of a tick the connection's TCP socket is
// corked; one process.nextTick uncorks every socket corked in that tick, so
// the replies to all the messages one TCP read carried (ws emits them
// synchronously) leave in one writev. This is what SwitchboardAdapter's
// write batching does (lib/dispatch/write-batching.ts), written by hand:
// nextTick runs before any further I/O, so no reply waits for anything but
// the code already running.
import { EVENT } from '../lib/wire.mjs';
import { startRawWs } from './raw-ws.mjs';

const corked = [];

function uncorkAll() {
  for (let i = 0; i < corked.length; i++) {
    const ws = corked[i];
    ws.corkedThisTick = false;
    ws._socket.uncork();
  }
  corked.length = 0;
}

/** Corks the connection's TCP socket until the end of this tick (once per tick). */
function corkThisTick(ws) {
  if (ws.corkedThisTick === true) {
    return;
  }
  ws.corkedThisTick = true;
  ws._socket.cork();
  if (corked.push(ws) === 1) {
    process.nextTick(uncorkAll);
  }
}

const handlers = new Map([[EVENT, (data) => ({ event: EVENT, data })]]);

function onMessage(frame) {
  let message;
  try {
    message = JSON.parse(frame.toString());
  } catch {
    return;
  }
  const handler = handlers.get(message?.event);
  if (handler === undefined) {
    return;
  }
  const reply = handler(message.data, this);
  if (reply !== undefined && reply !== null) {
    corkThisTick(this);
    this.send(JSON.stringify(reply));
  }
}

export const start = (options = {}) => startRawWs({ ...options, onMessage });

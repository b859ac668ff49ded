// The baseline: the dispatch every adapter performs, written by hand on `ws`
// with nothing else: JSON.parse, a Map lookup of the event, the handler
// returns {event, data}, JSON.stringify, send. Listeners are module-level
// functions (no closure per connection), as a careful hand-written server would do.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { EVENT, PATH } from '../lib/wire.mjs';
import { listen } from './listen.mjs';

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
  const reply = handler(message.data);
  if (reply !== undefined && reply !== null) {
    this.send(JSON.stringify(reply));
  }
}

// Without an 'error' listener a bad frame would crash the process.
function onError() {}

export async function start() {
  const httpServer = createServer((_request, response) => {
    response.writeHead(426).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  httpServer.on('upgrade', (request, socket, head) => {
    if (request.url !== PATH) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', onError);
      ws.on('message', onMessage);
    });
  });
  return listen(httpServer);
}

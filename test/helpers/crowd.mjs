// A crowd of real `ws` clients in a child process (the fd limit of one process
// cannot hold both ends of 10,000 connections). Connects N clients to URL,
// sends each one's first message, then counts the frames they receive and
// reports over IPC: {type: 'ready'} once all are connected and answered; asked
// {waitFor: event, count}, it answers with the counts once that many arrived.
import WebSocket from 'ws';

const [url, countArg, firstMessage] = process.argv.slice(2);
const count = Number(countArg);
const clients = [];
let acked = 0;
const received = new Map();
let duplicates = 0;
let waiting;

function report() {
  if (waiting !== undefined && (received.get(waiting.waitFor) ?? 0) >= waiting.count) {
    waiting = undefined;
    process.send({ type: 'counts', received: Object.fromEntries(received), duplicates });
  }
}

function connect(index) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const seen = new Set();
    socket.on('open', () => socket.send(firstMessage));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.id !== undefined) {
        acked++;
        resolve(socket);
        return;
      }
      const key = JSON.stringify(message);
      if (seen.has(key)) duplicates++;
      seen.add(key);
      received.set(message.event, (received.get(message.event) ?? 0) + 1);
      report();
    });
    socket.on('error', reject);
    clients[index] = socket;
  });
}

const startedConnecting = Date.now();
const batch = 500;
for (let start = 0; start < count; start += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, i) => connect(start + i)));
}
process.send({ type: 'ready', acked, connectMs: Date.now() - startedConnecting });
process.on('message', (message) => {
  if (message?.waitFor !== undefined) {
    waiting = message;
    report();
  } else if (message === 'close') {
    for (const socket of clients) socket.terminate();
    process.exit(0);
  }
});

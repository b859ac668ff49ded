import { createServer, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes.js';
import { refuseUpgradeRequest } from './http-refusal.js';

const logger = new Logger('SwitchboardAdapter');

type PortConnection = Duplex;

/**
 * Every TCP connection of a gateway port, from accept to close. Node's
 * `closeAllConnections()` forgets a socket once it was handed over by
 * 'upgrade', so a handshake still in authentication would hold `close()` for
 * up to the auth timeout: the port's own list lets shutdown end them all.
 */
const gatewayPortConnections = new WeakMap<HttpServer, Set<PortConnection>>();

/** An HTTP server for a gateway port: plain HTTP requests get 426, bind failures are logged with their code. */
export function gatewayOnlyServer(port: number): HttpServer {
  const httpServer = createServer((_request, response) => {
    refuseUpgradeRequest(response, 426, 'This port only serves WebSocket upgrades.');
  });
  httpServer.on('error', (error: NodeJS.ErrnoException) => {
    logger.error(`[${ErrorCode.LISTEN_FAILED}] Port ${port} could not be bound: ${error.code ?? error.message}`);
  });
  const connections = new Set<PortConnection>();
  gatewayPortConnections.set(httpServer, connections);
  httpServer.on('connection', (socket: PortConnection) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  return httpServer;
}

export function listenOn(port: number): HttpServer {
  return gatewayOnlyServer(port).listen(port);
}

/**
 * Closes a gateway port within a bound. It runs after every gateway's clients
 * got their close frame (or were terminated), so what is left is no
 * WebSocket: keep-alive or never-used connections (a browser's spare
 * preconnect that never sends a byte), 426 answers, handshakes still being
 * authenticated. The port serves nothing else, so they are ended at once
 * rather than letting `close()` wait for peers that may never leave.
 */
export function closeHttpServer(httpServer: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!httpServer.listening) {
      resolve();
      return;
    }
    httpServer.close(() => resolve());
    const connections = gatewayPortConnections.get(httpServer);
    if (connections !== undefined && connections.size > 0) {
      const address = httpServer.address();
      logger.debug(`Port ${typeof address === 'object' && address !== null ? address.port : String(address)}: ending ${connections.size} connection(s) left at shutdown`);
      for (const socket of connections) {
        socket.destroy();
      }
    }
  });
}

/** How long the app's HTTP server may take to close after the gateways before we say why. */
const APP_SERVER_LINGER_WARNING_MS = 3000;

/**
 * Node's `server.close()` ends idle keep-alive connections but waits for one
 * that never sent a request (browsers open spare ones) until the peer leaves:
 * `app.close()` then hangs with nothing in the log. The timer is unref'd and
 * cleared on 'close', so it never holds the process or outlives the server.
 */
export function warnWhenAppServerLingers(httpServer: HttpServer): void {
  if (!httpServer.listening) {
    return;
  }
  const timer = setTimeout(() => {
    if (httpServer.listening) {
      return; // Not being closed: only the adapter was disposed.
    }
    httpServer.getConnections((error, count) => {
      if (error === null && count > 0) {
        logger.warn(
          `app.close() is still waiting for ${count} HTTP connection(s) on the application's port, such as a browser's ` +
            'spare connection that never sent a request; Node waits until the peer leaves. Pass ' +
            '`{ forceCloseConnections: true }` to NestFactory.create() to end them at shutdown.',
        );
      }
    });
  }, APP_SERVER_LINGER_WARNING_MS);
  timer.unref();
  httpServer.once('close', () => clearTimeout(timer));
}

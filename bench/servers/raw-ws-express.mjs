// The raw ws server (raw-ws.mjs: same dispatch, same `ws` server in
// noServer mode with its own 'upgrade' listener) attached to an Express
// application's HTTP server, as the Nest apps are (Nest's default platform
// is Express: `http.createServer(expressApp)`). Upgrades never reach
// Express's router, but the process then loads and holds what an Express
// server does, so this row separates "Express is there" from "Nest and the
// adapter are there" in the connection rate.
import { createServer } from 'node:http';
import express from 'express';
import { startRawWs } from './raw-ws.mjs';

function expressHttpServer() {
  const app = express();
  app.disable('x-powered-by');
  app.use((_request, response) => {
    response.status(426).end();
  });
  return createServer(app);
}

export const start = (options = {}) => startRawWs({ ...options, createHttpServer: expressHttpServer });

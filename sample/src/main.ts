import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SwitchboardAdapter } from 'nestjs-switchboard';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // The one line that replaces `new WsAdapter(app)` from @nestjs/platform-ws.
  app.useWebSocketAdapter(
    new SwitchboardAdapter(app, {
      invalidMessage: 'reply', // malformed frames get an `exception` event (or an error ack)
      unknownEvent: 'reply', // so do unknown events
      maxPayload: 64 * 1024, // bytes; larger frames close with 1009
    }),
  );
  app.enableShutdownHooks(); // SIGTERM / SIGINT close every client with 1001
  const port = Number(process.env.PORT ?? 3000);
  await (process.env.HOST ? app.listen(port, process.env.HOST) : app.listen(port));
  const logger = new Logger('Sample');
  logger.log(`Chat page: http://localhost:${port}/${process.env.REDIS_URL ? `  (rooms shared through ${process.env.REDIS_URL})` : ''}`);
  logger.log(`Chat gateway: ws://localhost:${port}/chat/<room>?nick=<name>  (try {"event":"say","data":{"text":"hi"},"id":1})`);
}

void bootstrap();

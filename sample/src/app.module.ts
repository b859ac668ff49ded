import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SwitchboardModule, WsExceptionFilter, type SwitchboardModuleOptions } from 'nestjs-switchboard';
import { RedisBroker } from 'nestjs-switchboard/redis';
import { ChatModule } from './chat/chat.module.js';
import { RoomsModule } from './rooms/rooms.module.js';
import { WebModule } from './web/web.module.js';

/**
 * In memory by default. With REDIS_URL set, instances share rooms through
 * Redis: `npm run start:cluster` starts a redis-server and two instances, or
 * by hand `REDIS_URL=redis://127.0.0.1:6379 PORT=3001 npm start` in two shells
 * (ports 3001 and 3002), and clients of either chat in the same rooms.
 *
 * Recovery: a client that reconnects (to any instance) within `sessionTtl`
 * gets its rooms back and every room message it missed, in order.
 */
const broker = process.env.REDIS_URL ? new RedisBroker({ redis: process.env.REDIS_URL }) : undefined;

const options: SwitchboardModuleOptions = {
  broker,
  recovery: { historySize: 1000, historyTtl: 120_000, sessionTtl: 120_000 },
  // Presence asks every instance; one that died is left out within about 2 s.
  cluster: { heartbeatInterval: 500, nodeTimeout: 1500 },
};

@Module({
  imports: [SwitchboardModule.forRoot(options), ChatModule, RoomsModule, WebModule],
  providers: [{ provide: APP_FILTER, useClass: WsExceptionFilter }],
})
export class AppModule {}

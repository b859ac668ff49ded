import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SwitchboardModule, WsExceptionFilter } from 'nestjs-switchboard';
import { RedisBroker } from 'nestjs-switchboard/redis';
import { ChatModule } from './chat/chat.module.js';

/**
 * In memory by default. With REDIS_URL set, instances share rooms through
 * Redis: `REDIS_URL=redis://127.0.0.1:6379 PORT=3001 npm start` in two shells
 * (ports 3001 and 3002), and clients of either chat in the same rooms.
 */
const broker = process.env.REDIS_URL ? new RedisBroker({ redis: process.env.REDIS_URL }) : undefined;

@Module({
  imports: [SwitchboardModule.forRoot({ broker }), ChatModule],
  providers: [{ provide: APP_FILTER, useClass: WsExceptionFilter }],
})
export class AppModule {}

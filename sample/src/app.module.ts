import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SwitchboardModule, WsExceptionFilter } from 'nestjs-switchboard';
import { ChatModule } from './chat/chat.module.js';

@Module({
  imports: [SwitchboardModule.forRoot(), ChatModule],
  providers: [{ provide: APP_FILTER, useClass: WsExceptionFilter }],
})
export class AppModule {}

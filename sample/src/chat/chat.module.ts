import { Module } from '@nestjs/common';
import { Announcements } from './announcements.service.js';
import { ChatHistory } from './chat-history.service.js';
import { ChatGateway } from './chat.gateway.js';

@Module({ providers: [ChatGateway, ChatHistory, Announcements], exports: [Announcements] })
export class ChatModule {}

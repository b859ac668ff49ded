import { Injectable } from '@nestjs/common';
import { Broadcaster } from 'nestjs-switchboard';
import { ChatGateway } from './chat.gateway.js';

/** Pushes to chat rooms from outside the gateway (a cron job, a webhook, another module...). */
@Injectable()
export class Announcements {
  constructor(private readonly broadcaster: Broadcaster) {}

  announce(room: string, text: string): number {
    return this.broadcaster.of(ChatGateway).to(room).emit('announcement', { text });
  }
}

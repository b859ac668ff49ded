import { Injectable } from '@nestjs/common';

export interface ChatEntry {
  nick: string;
  text: string;
  at: string;
}

/** The last 50 messages of each room, in memory. */
@Injectable()
export class ChatHistory {
  private readonly rooms = new Map<string, ChatEntry[]>();

  add(room: string, nick: string, text: string): ChatEntry {
    const entry = { nick, text, at: new Date().toISOString() };
    this.rooms.set(room, [...(this.rooms.get(room) ?? []), entry].slice(-50));
    return entry;
  }

  of(room: string): ChatEntry[] {
    return this.rooms.get(room) ?? [];
  }
}

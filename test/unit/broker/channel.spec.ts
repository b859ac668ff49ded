import { describe, expect, it } from '@jest/globals';
import { nodeChannel, pathChannel, roomChannel } from '../../../lib/broker/channel.js';

describe('channel names', () => {
  it('spells room, path and node channels apart', () => {
    expect(roomChannel('/chat', 'lobby')).toBe('r\u0000/chat\u0000lobby');
    expect(pathChannel('/chat')).toBe('p\u0000/chat');
    expect(nodeChannel('AbCd1234')).toBe('n\u0000AbCd1234');
  });

  it('keeps a room of one path apart from a path or a room that look like it', () => {
    expect(roomChannel('/a', 'b')).not.toBe(pathChannel('/a/b'));
    expect(roomChannel('/a', 'b/c')).not.toBe(roomChannel('/a/b', 'c'));
    expect(roomChannel('/a', '')).not.toBe(pathChannel('/a'));
    expect(new Set([roomChannel('/p', 'x'), pathChannel('/p'), nodeChannel('/p')]).size).toBe(3);
  });
});

import { describe, expect, it } from '@jest/globals';
import { channelOf } from '../../../lib/broker/channel.js';

describe('channelOf', () => {
  it('is the path for gateway-wide traffic, and path NUL room for a room', () => {
    expect(channelOf('/chat', undefined)).toBe('/chat');
    expect(channelOf('/chat', 'lobby')).toBe('/chat\u0000lobby');
  });

  it('keeps a room of one path apart from a path that looks like it', () => {
    expect(channelOf('/a', 'b')).not.toBe(channelOf('/a/b', undefined));
    expect(channelOf('/a', '')).not.toBe(channelOf('/a', undefined));
  });
});

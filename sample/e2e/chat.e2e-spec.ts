import { createGatewayHarness, type GatewayHarness } from 'nestjs-switchboard/testing';
import { AppModule } from '../src/app.module.js';
import { Announcements } from '../src/chat/announcements.service.js';

/** The sample app through the real Nest pipeline, in memory: no port. */
describe('sample chat', () => {
  let harness: GatewayHarness;

  beforeEach(async () => {
    harness = await createGatewayHarness(AppModule);
  });

  afterEach(() => harness.close());

  it('stores messages per room and pushes them to the other members', async () => {
    const ada = await harness.connect('/chat/lobby?nick=ada');
    const bob = await harness.connect('/chat/lobby?nick=bob');
    await expect(ada.expectEvent('joined')).resolves.toEqual({ nick: 'bob' });
    await expect(ada.request('say', { text: 'hello' })).resolves.toMatchObject({ nick: 'ada', text: 'hello' });
    await expect(bob.expectEvent('said')).resolves.toMatchObject({ nick: 'ada', text: 'hello' });
    await ada.expectNoEvent('said', 30);
    await expect(bob.request('history')).resolves.toEqual([expect.objectContaining({ nick: 'ada', text: 'hello' })]);
    const elsewhere = await harness.connect('/chat/kitchen');
    await expect(elsewhere.request('history')).resolves.toEqual([]);
  });

  it('answers an invalid message with field-by-field details', async () => {
    const client = await harness.connect('/chat/lobby');
    await expect(client.request('say', { text: '' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ field: 'text', messages: ['text should not be empty'], constraints: { isNotEmpty: 'text should not be empty' } }],
    });
  });

  it('tells the room who left', async () => {
    const ada = await harness.connect('/chat/lobby?nick=ada');
    const bob = await harness.connect('/chat/lobby?nick=bob');
    await bob.close();
    await expect(ada.expectEvent('left')).resolves.toEqual({ nick: 'bob' });
  });

  it('pushes announcements from a service', async () => {
    const ada = await harness.connect('/chat/lobby?nick=ada');
    expect(harness.get(Announcements).announce('lobby', 'maintenance at noon')).toBe(1);
    await expect(ada.expectEvent('announcement')).resolves.toEqual({ text: 'maintenance at noon' });
  });

  it('knows who you are', async () => {
    const client = await harness.connect('/chat/games?nick=eve');
    await expect(client.request('whoami')).resolves.toMatchObject({ nick: 'eve', room: 'games', rooms: ['games'] });
  });
});

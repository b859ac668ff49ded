// The chat page: plain JavaScript on nestjs-switchboard/client (served as /client.js).
import { SwitchboardClient } from '/client.js';

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const MAX_LINES = 500;

/** Where to (re)connect: `?ws=ws://a,ws://b`, else this instance first, then the peers of /config.json. */
async function resolveEndpoints() {
  const listed = params.get('ws');
  if (listed) {
    return listed.split(',').map((entry) => entry.trim()).filter(Boolean);
  }
  const own = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
  let peers = [];
  try {
    const response = await fetch('/config.json', { signal: AbortSignal.timeout(2000) });
    peers = (await response.json()).peers ?? [];
  } catch {
    // a single instance
  }
  const others = peers.map((peer) => (peer.includes('://') ? peer : `ws://${peer}`)).filter((peer) => new URL(peer).port !== location.port);
  return [own, ...others];
}

const endpoints = await resolveEndpoints();
let attempts = 0;
let endpoint;
/** The nickname the server accepted: sent again in the query string of every reconnect. */
let nick;
/** The room this page is in (one at a time). */
let room;
let everOpen = false;

/** One URL per attempt: the first endpoint, then the next one at each attempt, so a dead instance is left for another. */
function nextUrl() {
  endpoint = endpoints[attempts++ % endpoints.length];
  return `${endpoint}/rooms${nick ? `?nick=${encodeURIComponent(nick)}` : ''}`;
}

const retry = Number(params.get('retry'));
const client = new SwitchboardClient({
  url: nextUrl,
  reconnect: retry > 0 ? { delay: retry, maxDelay: retry * 4 } : true,
  requestTimeout: 8000,
});

// --- Connection state. --------------------------------------------------------

function setState(state, title = '') {
  const badge = $('state');
  badge.dataset.state = state;
  badge.textContent = state;
  badge.title = title;
}

client.on('$state', (state) => {
  if (state === 'open') {
    $('server').textContent = endpoint.replace(/^wss?:\/\//, '');
    // After a reconnect, `$recovery` follows at once and says how it went.
    if (!everOpen) {
      setState('connected');
    }
    everOpen = true;
  } else {
    setState(state);
    if (state === 'reconnecting') {
      $('server').textContent = '';
    }
  }
});

// The wait before the next attempt (full-jitter backoff), shown where the instance's address was.
client.on('$retry', ({ attempt, delay }) => {
  $('server').textContent = `attempt ${attempt} in ${(delay / 1000).toFixed(1)} s`;
});

client.on('$recovery', ({ resumed, rooms }) => {
  const mine = room === undefined ? undefined : rooms[room];
  if (resumed && (room === undefined || mine?.recovered === true)) {
    setState('recovered', `session resumed on ${endpoint}`);
    if (mine !== undefined) {
      system(`Recovered: ${mine.replayed ?? 0} missed message(s) replayed.`);
    }
  } else {
    setState('reconnected', 'the session could not be recovered: messages sent meanwhile may be missing');
    if (room !== undefined) {
      system('Reconnected, but the session could not be recovered: messages sent meanwhile may be missing.');
    }
  }
  if (room !== undefined) {
    // Joins again where the session was not recovered; tells the room we are back either way.
    void join(room, nick, { quiet: true });
  }
});

client.on('$error', (failure) => console.warn('switchboard client:', failure));

// --- Room events. ---------------------------------------------------------------

client.on('message', (message, frame) => {
  if (message.room === room) {
    line('message', message, frame.offset);
  }
});

client.on('joined', (event) => {
  if (event.room === room) {
    system(`${event.nick} ${event.back ? 'is back' : 'joined'}.`);
    refreshPresence();
  }
});

client.on('left', (event) => {
  if (event.room === room) {
    system(`${event.nick} left.`);
    refreshPresence();
  }
});

// --- Rendering. ----------------------------------------------------------------

function append(item) {
  const list = $('messages');
  list.append(item);
  while (list.children.length > MAX_LINES) {
    list.firstElementChild.remove();
  }
  list.scrollTop = list.scrollHeight;
}

function line(kind, message, offset) {
  const item = document.createElement('li');
  item.className = kind;
  if (offset !== undefined) {
    item.dataset.offset = String(offset);
  }
  const who = document.createElement('span');
  who.className = 'nick';
  who.textContent = message.nick;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text;
  const at = document.createElement('time');
  at.dateTime = message.at;
  at.textContent = new Date(message.at).toLocaleTimeString();
  item.append(who, text, at);
  if (message.nick === nick) {
    item.classList.add('mine');
  }
  append(item);
}

function system(text) {
  const item = document.createElement('li');
  item.className = 'system';
  item.textContent = text;
  append(item);
}

function renderPresence({ members, complete }) {
  const list = $('presence');
  list.replaceChildren(
    ...members.map((member) => {
      const item = document.createElement('li');
      item.textContent = member;
      if (member === nick) {
        item.className = 'me';
      }
      return item;
    }),
  );
  $('presence-count').textContent = `(${members.length}${complete ? '' : ', partial'})`;
}

let presenceTimer;
function refreshPresence() {
  clearTimeout(presenceTimer);
  presenceTimer = setTimeout(async () => {
    if (room === undefined) {
      return;
    }
    try {
      renderPresence(await client.request('presence', { room }));
    } catch (failure) {
      showError(failure);
    }
  }, 100);
}

/** An error as the server (or the client) coded it: code, message, field-by-field details. */
function showError(failure) {
  const box = $('error');
  const code = document.createElement('strong');
  code.className = 'code';
  code.textContent = failure?.code ?? 'ERROR';
  const message = document.createElement('span');
  message.className = 'message';
  message.textContent = failure?.message ?? String(failure);
  box.replaceChildren(code, message);
  if (Array.isArray(failure?.details)) {
    const details = document.createElement('ul');
    details.className = 'details';
    for (const issue of failure.details) {
      const item = document.createElement('li');
      item.textContent = `${issue.field ?? ''}: ${(issue.messages ?? [issue.message]).join(', ')}`;
      details.append(item);
    }
    box.append(details);
  }
  box.hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').replaceChildren();
}

// --- Actions. ---------------------------------------------------------------------

async function join(nextRoom, nextNick, { quiet = false } = {}) {
  if (!quiet) {
    clearError();
  }
  try {
    if (room !== undefined && room !== nextRoom) {
      await leave();
    }
    const presence = await client.request('join', { room: nextRoom, nick: nextNick });
    if (room !== presence.room) {
      $('messages').replaceChildren();
      system(`You joined #${presence.room} as ${nextNick}.`);
    }
    room = presence.room;
    nick = nextNick;
    $('room-name').textContent = room;
    $('chat').hidden = false;
    renderPresence(presence);
    const url = new URL(location.href);
    url.searchParams.set('room', room);
    url.searchParams.set('nick', nick);
    history.replaceState(null, '', url);
    $('text').focus();
  } catch (failure) {
    showError(failure);
  }
}

async function leave() {
  const left = room;
  room = undefined;
  $('chat').hidden = true;
  $('presence').replaceChildren();
  if (left !== undefined) {
    await client.request('leave', { room: left }).catch(showError);
  }
}

async function say(text) {
  clearError();
  try {
    await client.request('say', { room, text });
  } catch (failure) {
    showError(failure);
    if ($('text').value === '') {
      $('text').value = text;
    }
  }
}

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void join($('room').value, $('nick').value);
});

$('say-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value;
  $('text').value = '';
  void say(text);
});

$('leave').addEventListener('click', () => void leave());

$('nick').value = params.get('nick') ?? '';
$('room').value = params.get('room') ?? 'lobby';
if (params.has('nick') && params.has('room')) {
  void join(params.get('room'), params.get('nick'));
}

// For the console (and the browser tests): the client, its stats and the page's actions.
window.chat = { client, endpoints, join, leave, say, get room() { return room; }, get nick() { return nick; } };

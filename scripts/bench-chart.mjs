// Draws bench/RESULTS.md as an SVG bar chart: echo msg/s per server, room
// fan-out deliveries/s (rooms of 1,000 and 5,000), and the cross-node
// fan-out table when RESULTS.md has one. No dependency: the tables are read
// as markdown, the SVG is written by hand.
//
//   node scripts/bench-chart.mjs [--in bench/RESULTS.md] [--out bench/charts/bench.svg]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const at = argv.indexOf(name);
  return at === -1 ? fallback : argv[at + 1];
};
const input = resolve(ROOT, option('--in', 'bench/RESULTS.md'));
const output = resolve(ROOT, option('--out', 'bench/charts/bench.svg'));

// --- Markdown: headings and the tables under them. ---------------------------

/** Every table with the headings it sits under: `{ path: ['Room fan-out', 'Room of 1,000 members'], header, rows }`. */
export function parseTables(markdown) {
  const tables = [];
  const headings = [];
  let table;
  for (const line of markdown.split('\n')) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading !== null) {
      headings.length = heading[1].length - 1;
      headings[heading[1].length - 1] = heading[2].trim();
      table = undefined;
      continue;
    }
    if (!line.startsWith('|')) {
      table = undefined;
      continue;
    }
    const cells = line.replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim());
    if (table === undefined) {
      table = { path: headings.filter(Boolean), header: cells, rows: [] };
      tables.push(table);
    } else if (!cells.every((cell) => /^:?-+:?$/.test(cell))) {
      const row = Object.fromEntries(table.header.map((name, i) => [name, cells[i] ?? '']).reverse());
      Object.defineProperty(row, 'cells', { value: cells });
      table.rows.push(row);
    }
  }
  return tables;
}

/** The leading number of a cell: `95,918`, `82,333 (80.1k, 84.0k) ⚑gen`, `1.44×`. */
const numberOf = (cell) => {
  const match = /^\**\s*([\d,]+(?:\.\d+)?)/.exec(cell ?? '');
  return match === null ? undefined : Number(match[1].replace(/,/g, ''));
};

const label = (name) =>
  name
    .replace(/\*\*/g, '')
    .replace(/^Nest 12 \+ /, '')
    .replace(/@nestjs\//, '')
    .replace(' (hand-written dispatch)', '')
    .replace(', ack messages (with id)', ' + acks')
    .trim();

/** The first table under headings matching `path` (each a RegExp on one heading, in order) with `column`. */
function findTable(tables, path, column) {
  return tables.find((table) => table.header.includes(column) && path.every((pattern, i) => pattern.test(table.path[i] ?? '')) && table.path.length === path.length);
}

/** Bars from a table: the name and value columns (the first of that name), and the ratio in the column just after the value. */
function series(table, nameColumn, valueColumn) {
  const at = table.header.indexOf(valueColumn);
  const ratioAt = table.header[at + 1]?.startsWith('×') ? at + 1 : -1;
  return table.rows
    .map((row) => ({ name: label(row[nameColumn]), value: numberOf(row.cells[at]), ratio: ratioAt === -1 ? undefined : row.cells[ratioAt] }))
    .filter((bar) => bar.value !== undefined && bar.value > 0);
}

export function panelsOf(markdown) {
  const tables = parseTables(markdown);
  const panels = [];
  const echo = findTable(tables, [/benchmark/, /^Echo throughput/], 'msg/s');
  if (echo !== undefined) {
    panels.push({ title: 'Echo: messages/s (50 clients × 10 in flight)', versus: 'raw ws', bars: series(echo, 'Server', 'msg/s') });
  }
  for (const size of ['1,000', '5,000']) {
    const fanOut = findTable(tables, [/benchmark/, /^Room fan-out/, new RegExp(`^Room of ${size} members`)], 'deliveries/s');
    if (fanOut !== undefined) {
      panels.push({ title: `Room fan-out: deliveries/s, one room of ${size}`, versus: 'raw ws', bars: series(fanOut, 'Server', 'deliveries/s') });
    }
  }
  // The latest cross-node run (issue 11 §8), if any: one panel per layout.
  const crossNode = tables.filter((table) => /^Cross-node fan-out/.test(table.path[1] ?? '') && table.header.includes('Deliveries/s (peak)'));
  const latest = crossNode.at(-1)?.path[1];
  for (const table of crossNode.filter((candidate) => candidate.path[1] === latest)) {
    const layout = (table.path[2] ?? '').replace(/^Layout (\w):.*$/, 'layout $1');
    panels.push({
      title: `Cross-node fan-out, 3 nodes${layout ? ` (${layout})` : ''}: deliveries/s at peak`,
      versus: 'socket.io + redis-adapter classic',
      bars: series(table, 'Stack', 'Deliveries/s (peak)'),
    });
  }
  return panels.filter((panel) => panel.bars.length > 0);
}

// --- SVG. ------------------------------------------------------------------------

const escape = (text) => String(text).replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char]);
const thousands = (value) => Math.round(value).toLocaleString('en-US');

export function renderSvg(panels, subtitle) {
  const width = 860;
  const labelWidth = 250;
  const barArea = width - labelWidth - 150;
  const barHeight = 20;
  const gap = 6;
  const parts = [];
  let y = 80;
  for (const panel of panels) {
    parts.push(`<text x="24" y="${y}" class="panel">${escape(panel.title)}<tspan class="versus">   (× ${escape(panel.versus)})</tspan></text>`);
    y += 12;
    const max = Math.max(...panel.bars.map((bar) => bar.value));
    for (const bar of panel.bars) {
      const ours = /switchboard/i.test(bar.name);
      const length = Math.max(2, Math.round((bar.value / max) * barArea));
      const ratio = bar.ratio && bar.ratio !== '1' && !/^1\.00×$/.test(bar.ratio) ? ` (${bar.ratio})` : '';
      parts.push(
        `<g transform="translate(0 ${y})">` +
          `<text x="${labelWidth - 10}" y="${barHeight - 6}" class="label${ours ? ' ours' : ''}" text-anchor="end">${escape(bar.name)}</text>` +
          `<rect x="${labelWidth}" width="${length}" height="${barHeight}" rx="3" class="${ours ? 'bar ours' : 'bar'}"/>` +
          `<text x="${labelWidth + length + 6}" y="${barHeight - 6}" class="value">${thousands(bar.value)}${escape(ratio)}</text>` +
          `</g>`,
      );
      y += barHeight + gap;
    }
    y += 26;
  }
  const height = y - 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="nestjs-switchboard benchmark">`,
    '<style>',
    'text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#1d2330}',
    '.title{font-size:18px;font-weight:700}.subtitle{font-size:12px;fill:#6b7385}',
    '.panel{font-size:14px;font-weight:600}.label{font-size:12px}.label.ours{font-weight:700}',
    '.value{font-size:12px;fill:#3b4252}.bar{fill:#b8c2d6}.bar.ours{fill:#2f6fed}.versus{font-size:12px;font-weight:400;fill:#6b7385}',
    '</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="24" y="28" class="title">nestjs-switchboard benchmark</text>`,
    `<text x="24" y="44" class="subtitle">${escape(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const markdown = readFileSync(input, 'utf8');
  const panels = panelsOf(markdown);
  if (panels.length === 0) {
    throw new Error(`no echo, fan-out or cross-node table found in ${input}`);
  }
  const generated = /Generated by `npm run bench` on (\S+?)T/.exec(markdown)?.[1];
  const subtitle = `From bench/RESULTS.md${generated ? ` (run of ${generated})` : ''}: medians of 3 runs, higher is better; in brackets × the reference, same run.`;
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, renderSvg(panels, subtitle));
  console.log(`wrote ${relative(process.cwd(), output)}: ${panels.map((panel) => `${panel.title} (${panel.bars.length} bars)`).join('; ')}`);
}

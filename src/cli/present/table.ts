import { createRequire } from 'node:module';
import type TableType from 'cli-table3';
import { columnsOf, printable, truncateEnd, truncateMiddle, type TextView } from './terminal-text.js';

/** How a column gives way when the table is wider than the view: paths keep both ends, text its start. */
export type Shrink = 'middle' | 'end';

export interface TableLayout {
  /** Columns that may be shortened, by index, and how; the widest gives way first. */
  shrink?: Partial<Record<number, Shrink>>;
  /** Columns never shortened, even when nothing else can give way (ids a user types back). */
  keep?: number[];
}

const GAP = 2;
/** A shortened column keeps at least this much (or its header, if longer). */
const MIN_FLEX = 8;
/** Past the flexible columns, any column may give way to this, so a line never exceeds the width. */
const MIN_ANY = 3;

const NO_BORDER = Object.fromEntries(
  ['top', 'top-mid', 'top-left', 'top-right', 'bottom', 'bottom-mid', 'bottom-left', 'bottom-right', 'left', 'left-mid', 'mid', 'mid-mid', 'right', 'right-mid'].map((k) => [k, '']),
);

/**
 * A compact table: a header line, then one line per row, columns two spaces apart, no borders or
 * separators, no colour (so it survives pipes). Every cell is made printable (a newline in a name
 * is shown as `\n`). With a width, the widest shrinkable columns give way until the lines fit.
 */
export function renderTable(head: string[], rows: Array<Array<string | number>>, view: TextView, layout: TableLayout = {}): string[] {
  const cells = rows.map((row) => row.map((c) => printable(String(c))));
  const natural = head.map((h, i) => Math.max(1, columnsOf(h), ...cells.map((row) => columnsOf(row[i] ?? ''))));
  const widths = view.width === undefined ? natural : fitWidths(natural, head, view.width, layout);
  const fitted = cells.map((row) => row.map((cell, i) => cut(cell, widths[i]!, layout.shrink?.[i] ?? 'end')));
  // Loaded on first use: most invocations never print a table.
  const Table = createRequire(import.meta.url)('cli-table3') as typeof TableType;
  const table = new Table({
    head: head.map((h, i) => cut(h, widths[i]!, 'end')),
    chars: { ...NO_BORDER, middle: ' '.repeat(GAP) },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colWidths: widths,
    wordWrap: false,
  });
  for (const row of fitted) table.push(row);
  return table.toString().split('\n').map((line) => line.trimEnd());
}

function cut(cell: string, width: number, how: Shrink): string {
  return how === 'middle' ? truncateMiddle(cell, width) : truncateEnd(cell, width);
}

/** Column widths that fit `total`: shrinkable columns first (widest first), then any column, down to a floor. */
export function fitWidths(natural: number[], head: string[], total: number, layout: TableLayout): number[] {
  const widths = [...natural];
  const budget = total - GAP * (natural.length - 1);
  const flexible = natural.map((_, i) => i).filter((i) => layout.shrink?.[i] !== undefined);
  const floorOf = (i: number): number => Math.min(natural[i]!, Math.max(MIN_FLEX, columnsOf(head[i]!)));
  shrinkWidest(widths, flexible, floorOf, budget);
  shrinkWidest(widths, natural.map((_, i) => i).filter((i) => !layout.keep?.includes(i)), () => MIN_ANY, budget);
  return widths;
}

/** Takes one column from the widest of `columns` that is above its floor, until the widths fit the budget. */
function shrinkWidest(widths: number[], columns: number[], floorOf: (i: number) => number, budget: number): void {
  let over = widths.reduce((a, b) => a + b, 0) - budget;
  while (over > 0) {
    let widest = -1;
    for (const i of columns) if (widths[i]! > floorOf(i) && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    if (widest < 0) return;
    widths[widest] = widths[widest]! - 1;
    over--;
  }
}

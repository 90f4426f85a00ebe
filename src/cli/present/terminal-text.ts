import { displayName } from '../../fs-safety/fs-path.js';

/**
 * How text output is laid out: `width` is the line budget (80 when stdout is not a terminal, the
 * terminal's columns when it is), undefined under `--wide` (full paths, nothing shortened).
 * `homedir` lets a path under the user's home be shown as `~/…`.
 */
export interface TextView {
  width: number | undefined;
  homedir?: string;
}

/** The default for callers that have no terminal: 80 columns. */
export const PIPE_VIEW: TextView = { width: 80 };

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A name as one printable line: bytes that are not UTF-8 as `\xff` (displayName), and a newline or
 * another control character escaped (`\n`, `\x1b`), so a file name can neither break a row nor
 * drive the terminal.
 */
export function printable(name: string): string {
  return displayName(name).replace(/[\u0000-\u001f\u007f-\u009f]/gu, (char) => {
    const named = NAMED_ESCAPES[char];
    if (named !== undefined) return named;
    const code = char.charCodeAt(0);
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Columns a string takes: one per code point (wide East Asian characters are cut by the table itself). */
export function columnsOf(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** `a/very/long/path` → `a/ve…/path`: both ends kept, where a path's meaning is. */
export function truncateMiddle(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  if (width <= 1) return '…'.slice(0, width);
  const tail = Math.ceil((width - 1) / 2);
  const head = width - 1 - tail;
  return chars.slice(0, head).join('') + '…' + chars.slice(chars.length - tail).join('');
}

export function truncateEnd(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  return width <= 0 ? '' : chars.slice(0, width - 1).join('') + '…';
}

/** A path under the user's home as `~/…` in the default form; the full path under --wide. */
export function shortPath(p: string, view: TextView): string {
  const home = view.homedir;
  if (view.width === undefined || home === undefined || home === '' || home === '/') return p;
  if (p === home) return '~';
  return p.startsWith(home + '/') ? '~' + p.slice(home.length) : p;
}

/**
 * A long line wrapped at spaces to the view's width; continuation lines are indented two columns
 * more than the first. A word longer than a whole line is cut. Under --wide the line stays whole.
 */
export function wrapLine(line: string, view: TextView): string[] {
  const width = view.width;
  if (width === undefined || columnsOf(line) <= width) return [line];
  const lead = /^ */.exec(line)?.[0] ?? '';
  const indent = ' '.repeat(Math.min(lead.length + 2, Math.floor(width / 2)));
  const out: string[] = [];
  let current = lead;
  let fresh = true;
  for (const word of line.slice(lead.length).split(' ')) {
    const candidate = fresh ? current + word : `${current} ${word}`;
    if (columnsOf(candidate) <= width) {
      current = candidate;
      fresh = false;
      continue;
    }
    if (!fresh) {
      out.push(current);
      current = indent;
    }
    let piece = current + word;
    while (columnsOf(piece) > width) {
      const chars = [...piece];
      out.push(chars.slice(0, width).join(''));
      piece = indent + chars.slice(width).join('');
    }
    current = piece;
    fresh = false;
  }
  out.push(current);
  return out;
}

/** Every line of a presenter's text wrapped to the view (tables are fitted already and pass unchanged). */
export function wrapLines(lines: string[], view: TextView): string[] {
  return lines.flatMap((line) => wrapLine(line, view));
}

const BUNDLE_TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)-\d{3}Z$/;

/**
 * Bundle timestamps to the second (`2026-05-01T09-30-00`) in the default form: a unique prefix is
 * still a selector. Kept whole under --wide, and whenever two would read the same.
 */
export function compactTimestamps(stamps: string[], view: TextView): string[] {
  if (view.width === undefined) return stamps;
  const short = stamps.map((s) => BUNDLE_TIMESTAMP.exec(s)?.[1] ?? s);
  return new Set(short).size === new Set(stamps).size ? short : stamps;
}

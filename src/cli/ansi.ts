/** The two styles clawback prints: a warning's yellow and the demo's bold headings. */
export interface Colors {
  yellow(text: string): string;
  bold(text: string): string;
}

/**
 * One SGR style at the 16-colour level. Like chalk, which this replaces (its load cost every
 * command ~20 ms for two styles): an empty string stays empty, a close code inside the text
 * reopens the style, and each line break closes the style before it and reopens it after.
 */
function style(open: string, close: string): (text: string) => string {
  return (text) => {
    if (text === '') return text;
    const body = text.includes('\u001b') ? text.replaceAll(close, close + open) : text;
    return open + body.replace(/\r?\n/g, (lineBreak) => close + lineBreak + open) + close;
  };
}

const PLAIN: Colors = { yellow: (text) => text, bold: (text) => text };
const STYLED: Colors = { yellow: style('\u001b[33m', '\u001b[39m'), bold: style('\u001b[1m', '\u001b[22m') };

/** The styles, or none (NO_COLOR, a pipe, --json). */
export function colors(enabled: boolean): Colors {
  return enabled ? STYLED : PLAIN;
}

/** One POSIX shell word that stands for exactly `value` (bytes other than NUL pass through). */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A root-relative or absolute remote path given as raw bytes, quoted for sh (names are bytes: latin1 keeps every byte). */
export function shellQuoteBytes(value: Buffer): string {
  return shellQuote(value.toString('latin1'));
}

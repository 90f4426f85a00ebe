import { ClawbackError } from '../../errors.js';
import { quickCheck } from '../../sqlite/backup.js';

/**
 * quick_check through a read-only connection, so the bundle stays byte for byte as it was (the
 * small page cache is quickCheck's own): undefined when ok, else what is wrong. Its own module,
 * loaded on first need: better-sqlite3 (and the error catalogue) take tens of ms to load, which a
 * hashing worker that meets no database never pays.
 */
export function checkDatabase(file: string): string | undefined {
  try {
    quickCheck(file, '', { readonly: true });
    return undefined;
  } catch (error) {
    if (error instanceof ClawbackError) return error.message.replace(/^: /, '');
    return `not a readable SQLite database (${(error as Error).message})`;
  }
}

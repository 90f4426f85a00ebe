import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * better-sqlite3, through `require` rather than `import`: node runs a CommonJS package that an ES
 * module imports through its export lexer first (a WebAssembly parser set up on first use, then a
 * parse of the package's files), and no other module on a snapshot's way to its first backup needs
 * it. Its native part still loads at the first database opened, where a missing build is reported.
 */
export const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

import { createRequire } from 'node:module';
import type TableType from 'cli-table3';

/** A plain table (no colour codes, so it survives pipes and tests). */
export function renderTable(head: string[], rows: Array<Array<string | number>>): string[] {
  // Loaded on first use: most invocations never print a table.
  const Table = createRequire(import.meta.url)('cli-table3') as typeof TableType;
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map((c) => String(c)));
  return table.toString().split('\n');
}

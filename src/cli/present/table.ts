import Table from 'cli-table3';

/** A plain table (no colour codes, so it survives pipes and tests). */
export function renderTable(head: string[], rows: Array<Array<string | number>>): string[] {
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map((c) => String(c)));
  return table.toString().split('\n');
}

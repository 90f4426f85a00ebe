import { UsageError } from '../../errors.js';

export function csv(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError(`empty list ${JSON.stringify(value)}`);
  return [...(previous ?? []), ...items];
}

export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${JSON.stringify(value)} is not a whole number`);
  return Number(value);
}

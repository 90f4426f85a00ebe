import { createRequire } from 'node:module';
import { extname } from 'node:path';
import JSON5 from 'json5';
import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';
import type * as Yaml from 'yaml';
import { IntegrityError, ManifestError } from '../../errors.js';
import { isRecord, type ConfigRecord } from './values.js';

let yamlModule: typeof Yaml | undefined;

/** `yaml` loads on first use (as agent-manifest.ts loads it): ~8 MiB of resident code that a restore merging only JSON5 configs never runs. */
function yaml(): typeof Yaml {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}

export type ConfigFormat = 'json' | 'toml' | 'yaml';
export type MergeSide = 'live' | 'snapshot';

const FORMAT_BY_EXTENSION: Record<string, ConfigFormat> = { '.json': 'json', '.json5': 'json', '.toml': 'toml', '.yaml': 'yaml', '.yml': 'yaml' };
const LABEL: Record<ConfigFormat, string> = { json: 'JSON5', toml: 'TOML', yaml: 'YAML' };

export function formatOf(file: string): ConfigFormat {
  const format = FORMAT_BY_EXTENSION[extname(file).toLowerCase()];
  if (format === undefined) {
    throw new ManifestError(`${file}: restore.merge works on .json, .json5, .toml, .yaml and .yml files only`, 'remove the restore rule or point it at a supported file');
  }
  return format;
}

/** Parses one side of a merge; anything but a table at the top level stops the restore. */
export function parseConfig(format: ConfigFormat, file: string, side: MergeSide, text: string): ConfigRecord {
  const value = parseConfigValue(format, file, side, text);
  if (!isRecord(value)) throw unparseable(format, file, side, `the top level is not ${format === 'json' ? 'an object' : format === 'toml' ? 'a table' : 'a mapping'}`);
  return value;
}

/** Parses one side of a merge whatever its top level (an OpenClaw `$include` file may hold a list). */
export function parseConfigValue(format: ConfigFormat, file: string, side: MergeSide, text: string): unknown {
  try {
    return parseByFormat(format, text);
  } catch (error) {
    throw unparseable(format, file, side, reasonOf(error), error);
  }
}

function parseByFormat(format: ConfigFormat, text: string): unknown {
  switch (format) {
    // JSON5, a superset of JSON: OpenClaw reads openclaw.json (and its $include files) as JSON5, so
    // comments, trailing commas and unquoted keys are what a hand-edited config looks like.
    case 'json':
      return JSON5.parse(text);
    // Integers as bigint so that `1` and `1.0` survive the round trip as TOML integer and float.
    case 'toml':
      return parseToml(text, { integersAsBigInt: true });
    case 'yaml': {
      const doc = yaml().parseDocument(text);
      const first = doc.errors[0];
      if (first) throw first;
      // An empty YAML file is an empty mapping, not a broken one.
      return doc.toJS() ?? {};
    }
  }
}

export function serialiseConfig(format: ConfigFormat, value: unknown): string {
  switch (format) {
    // Plain JSON where it can say the value (it is valid JSON5); JSON5 only for what JSON cannot hold
    // (Infinity, NaN), which JSON.stringify would silently turn into null.
    case 'json':
      return `${hasNonFinite(value) ? JSON5.stringify(value, null, 2) : JSON.stringify(value, null, 2)}\n`;
    case 'toml':
      return stringifyToml(value, { numbersAsFloat: true });
    case 'yaml':
      // Unfolded lines, so a long string stays on the line a user would look for it.
      return yaml().stringify(value, { lineWidth: 0 });
  }
}

function hasNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(hasNonFinite);
  return isRecord(value) && Object.values(value).some(hasNonFinite);
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = (message.split('\n')[0] ?? '').trim().replace(/:$/, '');
  return error instanceof TomlError ? `${firstLine} at line ${error.line}, column ${error.column}` : firstLine;
}

function unparseable(format: ConfigFormat, file: string, side: MergeSide, reason: string, cause?: unknown): IntegrityError {
  return new IntegrityError('config-unparseable', `cannot merge ${file}: the ${side} copy is not valid ${LABEL[format]}: ${reason}`, {
    hint: 'the restore was stopped before anything changed; fix or move the file and retry',
    cause,
  });
}

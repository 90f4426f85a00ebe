import { extname } from 'node:path';
import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';
import { parseDocument, stringify as stringifyYaml } from 'yaml';
import { IntegrityError, ManifestError } from '../../errors.js';
import { isRecord, type ConfigRecord } from './values.js';

export type ConfigFormat = 'json' | 'toml' | 'yaml';
export type MergeSide = 'live' | 'snapshot';

const FORMAT_BY_EXTENSION: Record<string, ConfigFormat> = { '.json': 'json', '.toml': 'toml', '.yaml': 'yaml', '.yml': 'yaml' };
const LABEL: Record<ConfigFormat, string> = { json: 'JSON', toml: 'TOML', yaml: 'YAML' };

export function formatOf(file: string): ConfigFormat {
  const format = FORMAT_BY_EXTENSION[extname(file).toLowerCase()];
  if (format === undefined) {
    throw new ManifestError(`${file}: restore.merge works on .json, .toml, .yaml and .yml files only`, 'remove the restore rule or point it at a supported file');
  }
  return format;
}

/** Parses one side of a merge; anything but a table at the top level stops the restore. */
export function parseConfig(format: ConfigFormat, file: string, side: MergeSide, text: string): ConfigRecord {
  let value: unknown;
  try {
    value = parseByFormat(format, text);
  } catch (error) {
    throw unparseable(format, file, side, reasonOf(error), error);
  }
  if (!isRecord(value)) throw unparseable(format, file, side, `the top level is not a ${format === 'json' ? 'object' : format === 'toml' ? 'table' : 'mapping'}`);
  return value;
}

function parseByFormat(format: ConfigFormat, text: string): unknown {
  switch (format) {
    // Strict JSON by decision: a hand-edited openclaw.json with JSON5 comments or trailing commas stops
    // the restore with the parser's reason, rather than clawback taking a JSON5 dependency or guessing.
    case 'json':
      return JSON.parse(text);
    // Integers as bigint so that `1` and `1.0` survive the round trip as TOML integer and float.
    case 'toml':
      return parseToml(text, { integersAsBigInt: true });
    case 'yaml': {
      const doc = parseDocument(text);
      const first = doc.errors[0];
      if (first) throw first;
      // An empty YAML file is an empty mapping, not a broken one.
      return doc.toJS() ?? {};
    }
  }
}

export function serialiseConfig(format: ConfigFormat, value: ConfigRecord): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(value, null, 2)}\n`;
    case 'toml':
      return stringifyToml(value, { numbersAsFloat: true });
    case 'yaml':
      // Unfolded lines, so a long string stays on the line a user would look for it.
      return stringifyYaml(value, { lineWidth: 0 });
  }
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

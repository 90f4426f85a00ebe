import fs from 'node:fs';
import path from 'node:path';
import { asUserError, RefusedError, UsageError } from '../errors.js';
import { expandHome, type CliContext } from './context.js';

export interface PassphraseOptions {
  /** --passphrase-file */
  file?: string;
  /** Ask twice on a TTY (a new passphrase, for encrypting). */
  confirm: boolean;
}

/**
 * The passphrase for encrypting or decrypting an export: --passphrase-file,
 * else $CLAWBACK_PASSPHRASE, else asked on the terminal (twice when setting
 * one). Without any of them there is nobody to ask: refused with a hint.
 */
export async function readPassphrase(ctx: CliContext, options: PassphraseOptions): Promise<string> {
  if (options.file !== undefined) {
    const file = path.resolve(ctx.io.cwd, expandHome(options.file, ctx.io.homedir));
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw asUserError(error, file);
    }
    // A file written by `echo` ends with a newline that is not part of the passphrase.
    const passphrase = text.replace(/\r?\n$/, '');
    if (passphrase.length === 0) throw new UsageError(`the passphrase file ${file} is empty`);
    return passphrase;
  }
  const fromEnv = ctx.io.env.CLAWBACK_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  if (!ctx.interactive) {
    throw new RefusedError('passphrase-missing', 'a passphrase is needed and there is no terminal to ask for one', {
      hint: 'set CLAWBACK_PASSPHRASE or pass --passphrase-file FILE',
    });
  }
  ctx.progress.stop();
  const first = await ctx.io.prompt('Passphrase: ', { silent: true });
  if (first.length === 0) throw new UsageError('the passphrase is empty');
  if (options.confirm) {
    const second = await ctx.io.prompt('Repeat passphrase: ', { silent: true });
    if (second !== first) throw new UsageError('the passphrases do not match; nothing was written');
  }
  return first;
}

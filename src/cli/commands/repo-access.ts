import type { Restic } from '../../engine/offsite/restic.js';
import type { CliContext } from '../context.js';

/** The repository a `--repo NAME` names, with restic reached through this process's environment (read here, in the CLI). */
export async function resticFor(ctx: CliContext, name: string): Promise<Restic> {
  const { getRepo } = await import('../../store/repos.js');
  const { Restic } = await import('../../engine/offsite/restic.js');
  return new Restic({ repo: getRepo(ctx.deps.layout, name), env: ctx.io.env });
}

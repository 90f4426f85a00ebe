/**
 * The words clawback's grammar gives a meaning in a sandbox name's place (`clawback NAME snapshot …`):
 * a sandbox with one of these names could never be addressed, so `sandbox add` refuses them.
 * A module of its own so the CLI's argv rewriting reads it without loading the registry.
 */
export const COMMAND_WORDS: readonly string[] = [
  'sandbox', 'discover', 'backup-all', 'demo', 'help', 'status', 'schedule', 'manifest', 'version', 'completion', 'repo',
  'snapshot', 'rebuild',
];

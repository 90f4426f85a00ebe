/**
 * The gate of a held `restic backup` (restic.ts, GatedRun): restic reads its exclude rules from a
 * pipe that clawback feeds. node's own stdio pipes are socket pairs, which restic cannot open by a
 * /dev/fd path, and a named FIFO makes a late reader wait for a writer that may have gone; so a
 * shell makes a real pipe: `cat` copies clawback's fd 3 into it, and restic reads it as its fd 3.
 * restic runs in the background of that shell only so that the shell can pass a SIGINT on to it
 * (restic re-enables SIGINT, which a background job starts with ignored); the shell exits with
 * restic's status. All three stay in clawback's process group, so a Ctrl-C or a crash that takes
 * the group takes them too. If clawback dies, `cat` sees the end of its input: restic reads `*`
 * alone, excludes everything and fails, having read nothing.
 */
export const GATE_SCRIPT = [
  'cat <&3 3<&- | "$0" "$@" 3<&0 0</dev/null &',
  'r=$!',
  "trap 'kill -INT $r 2>/dev/null' INT",
  'wait $r; s=$?',
  'while kill -0 $r 2>/dev/null; do wait $r; s=$?; done',
  'exit $s',
].join('\n');

/** restic reads the gate as its exclude file. */
export const GATE_FILE = '/dev/fd/3';
/** Written at once: exclude everything. */
export const GATE_SHUT = '*\n';
/** Written when the gate opens: take that back (restic reads `!` as a negated pattern). */
export const GATE_OPEN = '!*\n';

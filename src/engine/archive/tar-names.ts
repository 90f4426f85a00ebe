import { displayName } from '../../fs-safety/fs-path.js';
import { PAYLOAD_DIR } from '../../manifest/bundle-manifest.js';

/**
 * The name a payload path carries inside clawback's tar. The tar library writes names as
 * UTF-8, so a name holding bytes that are not UTF-8 is written with each such byte as
 * `\xHH`, and a newline as `\x0a` (pax records cannot hold one). The manifest, the
 * archive's first entry, keeps the exact bytes; import maps each name back through it.
 */
export function tarEntryName(rel: string): string {
  return `${PAYLOAD_DIR}/${tarText(rel)}`;
}

/** A name or link target as the tar holds it. */
export function tarText(name: string): string {
  return displayName(name).replace(/\n/g, '\\x0a');
}

/**
 * Import's way back from tar names to manifest paths. An escaped name can stand for more
 * than one path (`\xff` the byte, `\xff` the four characters), so each name hands out its
 * paths in manifest order, the order export wrote them; the hashes checked after
 * extraction catch an archive whose entries were reordered.
 */
export class TarNameMap {
  private readonly paths = new Map<string, string[]>();

  constructor(paths: Iterable<string>) {
    for (const rel of paths) {
      const name = tarEntryName(rel);
      const list = this.paths.get(name);
      if (list) list.push(rel);
      else this.paths.set(name, [rel]);
    }
  }

  /** The manifest path the next entry of this name stands for, or undefined when the manifest lists none (left). */
  take(name: string): string | undefined {
    const list = this.paths.get(name);
    return list?.shift();
  }
}

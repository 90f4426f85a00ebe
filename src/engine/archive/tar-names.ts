import { displayName } from '../../fs-safety/fs-path.js';
import { PAYLOAD_DIR } from '../../manifest/bundle-manifest.js';

/**
 * The name a payload path carries inside clawback's tar. The tar library writes names as
 * UTF-8, so a name holding bytes that are not UTF-8 is written with each such byte as
 * `\xHH`, and a newline as `\x0a` (pax records cannot hold one). The manifest's inventory,
 * which precedes the payload in the archive, keeps the exact bytes; import checks each name
 * against the inventory's next entry, in the order export wrote them.
 */
export function tarEntryName(rel: string): string {
  return `${PAYLOAD_DIR}/${tarText(rel)}`;
}

/** A name or link target as the tar holds it. */
export function tarText(name: string): string {
  return displayName(name).replace(/\n/g, '\\x0a');
}

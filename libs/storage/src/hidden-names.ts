import { basename, dirname, join } from "node:path";

/**
 * A file's name cut to at most `maxBytes` of UTF-8, never inside a character. Hidden
 * temporary names add a suffix to a file's own name, and a filesystem name is at most 255
 * bytes: a legal 80-character CJK name is 240 bytes, so cutting by characters was not enough.
 */
export function truncateUtf8(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  let bytes = 0;
  let end = 0;
  for (const char of name) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return name.slice(0, end);
}

/** Room left for the suffix: 100 bytes of the name, the suffix well under the other 155. */
const NAME_BYTES = 100;

/** A hidden sibling of `path` for work in progress: ".<name, cut to 100 bytes><suffix>". */
export function hiddenSibling(path: string, suffix: string): string {
  return join(dirname(path), `.${truncateUtf8(basename(path), NAME_BYTES)}${suffix}`);
}

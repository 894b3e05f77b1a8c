// The name a download gets in a destination folder: from Content-Disposition (filename*
// before filename), else the URL's last path segment, else "download". The name comes from
// the server, so it is untrusted: the rule that must hold is that it is one plain path
// segment, never "." or "..", never with a separator, so the object lands in the folder.

const FALLBACK = "download";
/** Leaves room for a " (n)" suffix and a folder prefix within every backend's key limit. */
const MAX_NAME_BYTES = 200;

/** The sanitised file name for a response from `url` with this Content-Disposition. */
export function fileNameFor(contentDisposition: string | undefined, url: URL): string {
  const fromHeader = contentDisposition === undefined ? undefined : dispositionFileName(contentDisposition);
  for (const candidate of [fromHeader, urlFileName(url)]) {
    const safe = candidate === undefined ? undefined : sanitizeFileName(candidate);
    if (safe !== undefined) return safe;
  }
  return FALLBACK;
}

/** The URL path's last segment, percent-decoded (left as is when it does not decode). */
function urlFileName(url: URL): string | undefined {
  const segment = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
  if (segment === "") return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** `filename*` (RFC 6266 / RFC 8187) when it decodes, else `filename`; undefined when neither. */
export function dispositionFileName(header: string): string | undefined {
  const params = dispositionParams(header);
  const extended = params.get("filename*");
  const decoded = extended === undefined ? undefined : decodeExtValue(extended);
  if (decoded !== undefined) return decoded;
  const plain = params.get("filename");
  return plain === undefined ? undefined : latin1AsUtf8(plain);
}

/**
 * `type; name=value; name="quoted \" value"` → lower-case name → value (first one wins).
 * Lenient like browsers: an unquoted value runs to the next ";", spaces and all.
 */
function dispositionParams(header: string): Map<string, string> {
  const params = new Map<string, string>();
  // Skip the disposition type ("attachment"), unless a broken server left it out.
  const typeEnd = header.indexOf(";");
  const first = typeEnd < 0 ? header : header.slice(0, typeEnd);
  let i = first.includes("=") ? 0 : first.length;
  while (i < header.length) {
    while (i < header.length && (header[i] === ";" || header[i] === " " || header[i] === "\t")) i++;
    const eq = header.indexOf("=", i);
    if (eq < 0) break;
    const name = header.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (header[i] === " " || header[i] === "\t") i++;
    let value = "";
    if (header[i] === '"') {
      for (i++; i < header.length && header[i] !== '"'; i++) {
        if (header[i] === "\\" && i + 1 < header.length) i++;
        value += header[i];
      }
      i++; // the closing quote
      const semi = header.indexOf(";", i);
      i = semi < 0 ? header.length : semi;
    } else {
      const semi = header.indexOf(";", i);
      const end = semi < 0 ? header.length : semi;
      value = header.slice(i, end).trim();
      i = end;
    }
    if (name !== "" && !params.has(name)) params.set(name, value);
  }
  return params;
}

/** `UTF-8'lang'%E2%82%AC%20rates.txt` → "€ rates.txt"; ISO-8859-1 too; undefined when malformed. */
function decodeExtValue(value: string): string | undefined {
  const match = /^([A-Za-z0-9!#$&+^_`{}~-]+)'[^']*'(.*)$/.exec(value.trim());
  if (match === null) return undefined;
  const charset = match[1]!.toLowerCase();
  if (charset !== "utf-8" && charset !== "iso-8859-1") return undefined;
  const encoded = match[2]!;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(encoded[i]!, "utf8"));
    }
  }
  try {
    return new TextDecoder(charset === "utf-8" ? "utf-8" : "latin1", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Node reads header bytes as Latin-1, but many servers put raw UTF-8 in `filename=`. When
 * the bytes are valid UTF-8 read them so (as browsers do), else keep the Latin-1 reading.
 */
function latin1AsUtf8(value: string): string {
  if (!/[\u0080-\u00ff]/.test(value) || /[^\u0000-\u00ff]/.test(value)) return value;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(value, "latin1"));
  } catch {
    return value;
  }
}

/**
 * One safe path segment, or undefined when nothing usable is left. Keeps only what follows
 * the last "/" or "\", drops control and bidi-override characters (a name that shows as
 * "txt.exe" but is "exe.txt"), replaces characters Windows forbids, drops leading dots (no
 * ".", "..", hidden files or storage temp-file look-alikes) and trailing dots and spaces,
 * and cuts to 200 UTF-8 bytes keeping the extension.
 */
export function sanitizeFileName(raw: string): string | undefined {
  let name = raw.normalize("NFC");
  name = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  name = name.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "");
  name = name.replace(/[<>:"|?*]/g, "_");
  name = name.replace(/^[\s.]+/, "").replace(/[\s.]+$/, "");
  if (name === "") return undefined;
  // CON, NUL, COM1, … name devices on Windows, whatever their extension.
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(name)) name = `_${name}`;
  return truncate(name, MAX_NAME_BYTES);
}

/** `report.pdf` → `report (2).pdf`; `x.tar.gz` → `x (2).tar.gz`; `README` → `README (2)`. */
export function numberedName(name: string, n: number): string {
  const [stem, ext] = splitExtension(name);
  return `${stem} (${n})${ext}`;
}

function splitExtension(name: string): [string, string] {
  const match = /^(.+?)((?:\.tar)?\.[^.\s]{1,16})$/i.exec(name);
  return match === null ? [name, ""] : [match[1]!, match[2]!];
}

/** Cuts the stem (by whole code points) until the name fits in `maxBytes`. */
function truncate(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  let [stem, ext] = splitExtension(name);
  if (Buffer.byteLength(ext) > maxBytes / 2) [stem, ext] = [name, ""];
  const room = maxBytes - Buffer.byteLength(ext);
  let kept = "";
  let bytes = 0;
  for (const ch of stem) {
    bytes += Buffer.byteLength(ch);
    if (bytes > room) break;
    kept += ch;
  }
  return `${kept.replace(/[\s.]+$/, "")}${ext}`;
}

import { spawn } from "node:child_process";
import { StorageError, abortedError, type StorageErrorKind } from "../errors.ts";
import { watchIdle } from "./process-idle.ts";

/**
 * Spawning rsync/ssh and reading what they print. Everything here was checked against
 * rsync 3.5.0 (Debian 12 backport); the comments name the behaviour each rule depends on.
 */

export interface RunResult {
  code: number;
  /** stdout split into lines (empty when `onLine` consumed them). */
  lines: string[];
  /** The last STDERR_KEEP characters of stderr. */
  stderr: string;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed (rsync's `--files-from=-`). */
  stdin?: string;
  signal?: AbortSignal;
  /** Receives each stdout line as it arrives instead of collecting them. */
  onLine?: (line: string) => void;
  /** Shown in errors instead of the raw command. */
  what: string;
  /** Ends the run as Unavailable once its processes have moved no byte for this long (process-idle.ts). */
  idleTimeoutMs?: number;
}

const STDERR_KEEP = 16_384;
const KILL_GRACE_MS = 5_000;

/**
 * Runs a command to its end. The child gets its own process group (so an abort reaches
 * rsync *and* the ssh it started) and no controlling terminal (so nothing can prompt).
 * On abort we SIGTERM the group and wait for it to exit before rejecting: rsync's
 * receiver removes its `.name.XXXXXX` temp file when its peer goes away.
 */
export function runProcess(bin: string, args: string[], options: RunOptions): Promise<RunResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: options.env, detached: true, stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    const lines: string[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let stderr = "";
    let killTimer: NodeJS.Timeout | undefined;
    let spawnError: Error | undefined;

    const emit = (line: string): void => {
      if (options.onLine === undefined) lines.push(line);
      else options.onLine(line);
    };
    child.stdout?.on("data", (chunk: Buffer) => {
      // Split on the newline byte before decoding: a UTF-8 name never contains 0x0a.
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let nl: number;
      while ((nl = pending.indexOf(0x0a)) >= 0) {
        emit(pending.subarray(0, nl).toString("utf8"));
        pending = pending.subarray(nl + 1);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    child.stdin?.on("error", () => undefined); // EPIPE when rsync exits before reading it all
    child.stdin?.end(options.stdin);

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        child.kill(sig);
      }
    };
    const onAbort = (): void => {
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    let stalled = false;
    const stopWatch =
      options.idleTimeoutMs === undefined || child.pid === undefined
        ? undefined
        : watchIdle(child.pid, options.idleTimeoutMs, () => {
            stalled = true;
            onAbort();
          });

    child.once("error", (error) => {
      spawnError = error;
    });
    child.once("close", (code, sig) => {
      signal?.removeEventListener("abort", onAbort);
      stopWatch?.();
      if (killTimer !== undefined) clearTimeout(killTimer);
      if (pending.length > 0) emit(pending.toString("utf8"));
      if (signal?.aborted) {
        reject(abortedError(signal));
      } else if (stalled) {
        reject(new StorageError("Unavailable", `${options.what}: no data moved for ${Math.round(options.idleTimeoutMs! / 1000)} s; stopped`));
      } else if (spawnError !== undefined) {
        const missing = (spawnError as NodeJS.ErrnoException).code === "ENOENT";
        reject(
          missing
            ? new StorageError("ConfigInvalid", `${bin} is not installed (apt install ${bin.endsWith("ssh") ? "openssh-client" : "rsync"})`, { cause: spawnError })
            : new StorageError("Unexpected", `${options.what}: could not start ${bin}: ${spawnError.message}`, { cause: spawnError }),
        );
      } else {
        resolve({ code: code ?? (sig === null ? -1 : 128), lines, stderr });
      }
    });
  });
}

/** rsync's exit codes (rsync(1) "EXIT VALUES") that mean the link, not the request, failed. */
const NETWORK_CODES = new Set([10, 12, 30, 35]);

const NOT_FOUND_CLAUSE = /failed: (?:No such file or directory \(2\)|Not a directory \(20\))/;
const FAILED_CLAUSE = /failed: [^\n]*/g;

/**
 * True when an rsync run failed only because the remote path does not exist: exit 23
 * ("partial transfer") where every "... failed: <errno>" line is ENOENT or ENOTDIR. Other
 * lines (the daemon's "read error: Connection reset" after it hangs up) say no "failed:".
 */
export function isMissingOnly(result: RunResult): boolean {
  if (result.code !== 23) return false;
  const clauses = result.stderr.match(FAILED_CLAUSE) ?? [];
  return clauses.length > 0 && clauses.every((clause) => NOT_FOUND_CLAUSE.test(clause));
}

function classify(result: RunResult): StorageErrorKind {
  const { code, stderr } = result;
  if (/@ERROR: Unknown module/i.test(stderr)) return "NotFound";
  if (/@ERROR: auth failed|Permission denied \((?:publickey|password|keyboard)|Host key verification failed/i.test(stderr)) return "PermissionDenied";
  if (/password file must not be other-accessible|could not open password file|Bad owner or permissions|no such identity/i.test(stderr)) return "ConfigInvalid";
  if (/@ERROR: max connections/i.test(stderr)) return "Unavailable";
  if (/module is read only|Permission denied \(13\)|Operation not permitted \(1\)|Read-only file system \(30\)/i.test(stderr)) return "PermissionDenied";
  // The key collides with a directory (or a parent is a file): a filesystem can hold
  // "a" or "a/b", never both.
  if (/could not make way for new|cannot overwrite non-directory|File exists \(17\)|Is a directory \(21\)|Not a directory \(20\)/i.test(stderr)) return "InvalidKey";
  if (NETWORK_CODES.has(code)) return "Unavailable";
  if (code === 255) return "Unavailable"; // ssh itself failed: refused, unreachable, timed out
  if (code === 23 && NOT_FOUND_CLAUSE.test(stderr)) return "NotFound";
  if (code === 1 || code === 2 || code === 4) return "ConfigInvalid"; // usage, protocol, unsupported option (old remote rsync)
  return "Unexpected";
}

/** The last few meaningful stderr lines, with `secret` (never expected there) blanked out. */
export function stderrTail(stderr: string, secret?: string): string {
  let tail = stderr
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^Password:\s*$/.test(line))
    .slice(-6)
    .join(" | ");
  if (secret !== undefined && secret.length > 0) tail = tail.replaceAll(secret, "***");
  return tail === "" ? "(no message)" : tail;
}

/** Maps a failed run onto a StorageError; the message keeps rsync's own words. */
export function rsyncError(result: RunResult, what: string, key: string | undefined, secret?: string): StorageError {
  const kind = classify(result);
  const tail = stderrTail(result.stderr, secret);
  return new StorageError(kind, `${what} failed (rsync exit ${result.code}): ${tail}`, { key });
}

export interface ListedFile {
  /** "-" file, "d" directory, "l" symlink, others for devices/fifos/sockets. */
  type: string;
  size: number;
  modified: Date;
  /** The path as rsync printed it, with its `\#ooo` escapes undone. */
  name: string;
}

// `--list-only` prints "perms size date time name": rsync's list_file_entry() formats
// "%s %*s %s %s" with the size right-aligned in 11+ columns. `--no-h` drops the digit
// grouping (3.1+ prints "1,234,567" by default); the replace below tolerates it anyway.
const LIST_LINE = /^([-a-zA-Z])\S{9,}\s+([\d,.]+) (\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) (.*)$/;

/**
 * Parses one `--list-only` line (run with `-8` and TZ=UTC). With -8 rsync escapes only
 * bytes below 0x20 (as `\#ooo`) and a backslash that would read as such an escape, so
 * undoing `\#ooo` gives back the exact name. Returns undefined for any other line.
 */
export function parseListLine(line: string): ListedFile | undefined {
  const m = LIST_LINE.exec(line);
  if (m === null) return undefined;
  const [, type, size, y, mo, d, h, mi, s, name] = m as unknown as string[];
  return {
    type: type!,
    size: Number(size!.replace(/[,.]/g, "")),
    modified: new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))),
    name: unescapeName(name!),
  };
}

export function unescapeName(name: string): string {
  return name.replace(/\\#([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * One argument for rsync's `-e` string. rsync splits that string itself (main.c do_cmd):
 * on spaces, honouring '...' and "..." where a doubled quote stands for itself.
 */
export function quoteRshArg(arg: string): string {
  return /^[A-Za-z0-9_./=:@%+,-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "''")}'`;
}

/**
 * A path as an rsync filter pattern. A backslash escapes a wildcard only when the pattern
 * holds a wildcard at all (rsync(1) "PATTERN MATCHING RULES"), so escape all or nothing.
 */
export function filterPattern(path: string): string {
  return /[*?[]/.test(path) ? path.replace(/[\\*?[]/g, "\\$&") : path;
}

/** "rsync  version 3.2.7  protocol version 31" → [3, 2, 7]. */
export function parseRsyncVersion(text: string): [number, number, number] | undefined {
  const m = /version\s+v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function versionAtLeast(have: readonly number[], want: readonly number[]): boolean {
  for (let i = 0; i < want.length; i++) {
    if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > want[i]!;
  }
  return true;
}

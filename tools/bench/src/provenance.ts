import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/**
 * Which code a run measured: the commit, and a digest of every uncommitted change under the
 * directories the processes load (apps/, libs/). Each coordinator and worker process loads
 * the sources when it starts, so if they change during a run the scenarios measured
 * different code; the report says so instead of mixing the figures silently.
 */
export interface CodeState {
  commit: string | undefined;
  /** Files under apps/ and libs/ that differ from the commit. */
  dirtyFiles: string[];
  /** sha256 over those files' paths and contents (empty string when clean). */
  dirtyDigest: string;
}

const WATCHED = ["apps", "libs"];

export function codeState(root: string): CodeState {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const commit = git("rev-parse", "--short=12", "HEAD");
    const dirtyFiles = git("status", "--porcelain", "--untracked-files=all", "--", ...WATCHED)
      .split("\n")
      .filter(Boolean)
      .map((line) => line.slice(3))
      .sort();
    const hash = createHash("sha256");
    for (const file of dirtyFiles) {
      hash.update(file);
      try {
        hash.update(readFileSync(resolve(root, file)));
      } catch {
        hash.update("(deleted)");
      }
    }
    return { commit, dirtyFiles, dirtyDigest: dirtyFiles.length ? hash.digest("hex").slice(0, 16) : "" };
  } catch {
    return { commit: undefined, dirtyFiles: [], dirtyDigest: "" };
  }
}

export function sameCode(a: CodeState, b: CodeState): boolean {
  return a.commit === b.commit && a.dirtyDigest === b.dirtyDigest;
}

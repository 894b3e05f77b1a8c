// A disposable rsync daemon (Debian rsync) on 127.0.0.1 with one writable module protected
// by a user and password. rsync cannot bind port 0 and report it, so we pick a free port and
// retry if another process takes it between our check and rsync's bind.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { LOOPBACK, freePort, makeTempDir, removeTempDir, spawnManaged, waitForPort } from "./util.ts";

export interface RsyncDaemonServer {
  host: typeof LOOPBACK;
  port: number;
  /** Module name: the daemon serves `dir` as rsync://user@host:port/module/. */
  module: string;
  user: string;
  password: string;
  /** Client password file (mode 600) for `rsync --password-file=...`. */
  passwordFile: string;
  /** The module's root on disk: what clients write into. */
  dir: string;
  /** rsync://user@127.0.0.1:PORT/module */
  url: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startRsyncDaemon(): Promise<RsyncDaemonServer> {
  const root = await makeTempDir("rsyncd");
  const dir = path.join(root, "module");
  const module = "drover";
  const user = "drover";
  const password = "drover-test-password";
  const secretsFile = path.join(root, "rsyncd.secrets");
  const passwordFile = path.join(root, "client.password");
  const configFile = path.join(root, "rsyncd.conf");
  const logFile = path.join(root, "rsyncd.log");
  await mkdir(dir);
  // rsync refuses secrets/password files that others can read (strict modes), hence 600;
  // chmod again because the umask may have narrowed the mode given to writeFile.
  await writeFile(secretsFile, `${user}:${password}\n`, { mode: 0o600 });
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  await chmod(secretsFile, 0o600);
  await chmod(passwordFile, 0o600);

  // A daemon started as root runs module transfers as `nobody` by default, which cannot
  // write into our root-owned 0700 temp dir; keep root's ids (only root may set them).
  const ids = process.getuid?.() === 0 ? ["uid = 0", "gid = 0"] : [];

  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    await writeFile(
      configFile,
      [
        `address = ${LOOPBACK}`,
        `port = ${port}`,
        // Without chroot the daemon needs no special setup and module paths stay plain.
        "use chroot = no",
        `pid file = ${path.join(root, "rsyncd.pid")}`,
        `lock file = ${path.join(root, "rsyncd.lock")}`,
        // A log file of our own, not syslog: its tail goes into the error if start fails.
        `log file = ${logFile}`,
        "",
        `[${module}]`,
        `path = ${dir}`,
        "read only = no",
        `auth users = ${user}`,
        `secrets file = ${secretsFile}`,
        ...ids,
        "",
      ].join("\n"),
    );
    // --no-detach keeps the daemon our child, so stop() can kill it and nothing is orphaned.
    // stdin must not be a socket (Node's "pipe" is a socketpair): rsync would then take it
    // for an inetd connection and serve that instead of listening.
    const m = spawnManaged("rsync", ["--daemon", "--no-detach", `--config=${configFile}`], { stdio: ["ignore", "pipe", "pipe"] }, []);
    try {
      await waitForPort(m, port, "rsync daemon");
    } catch (err) {
      await m.stop();
      const log = await readFile(logFile, "utf8").catch(() => "");
      lastError = `${err instanceof Error ? err.message : String(err)}\n${log.trim().split("\n").slice(-10).join("\n")}`;
      // Only a lost port race is worth a retry; a missing binary or a bad config is not.
      if (/address already in use|bind/i.test(log)) continue;
      break;
    }
    const stop = async () => {
      await m.stop();
      await removeTempDir(root);
    };
    return {
      host: LOOPBACK,
      port,
      module,
      user,
      password,
      passwordFile,
      dir,
      url: `rsync://${user}@${LOOPBACK}:${port}/${module}`,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
  await removeTempDir(root);
  throw new Error(`rsync daemon could not start: ${lastError}`);
}

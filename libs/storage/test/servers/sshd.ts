// A disposable OpenSSH server (Debian openssh-server) on 127.0.0.1, accepting one generated
// key for the current user, for rsync-over-ssh tests. Its host key is generated too and
// pinned in a known_hosts file, so clients run with StrictHostKeyChecking=yes and never prompt.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LOOPBACK, freePort, makeTempDir, removeTempDir, run, spawnManaged, waitForPort } from "./util.ts";

const SSHD = "/usr/sbin/sshd"; // sshd re-executes itself and insists on an absolute path
const SFTP_SERVER = "/usr/lib/openssh/sftp-server";

export interface SshdServer {
  host: typeof LOOPBACK;
  port: number;
  /** The login user: whoever runs the tests (root here). */
  user: string;
  /** Client private key (no passphrase) that the server accepts. */
  keyFile: string;
  /** known_hosts pinning the server's host key as [127.0.0.1]:PORT. */
  knownHostsFile: string;
  /** An empty temp dir to use as the remote root (removed on dispose). */
  dir: string;
  /** Complete ssh command line, e.g. for `rsync -e "<sshCommand>" src user@127.0.0.1:dir/`. */
  sshCommand: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startSshd(): Promise<SshdServer> {
  const user = os.userInfo().username;
  const root = await makeTempDir("sshd");
  try {
    const dir = path.join(root, "remote");
    await mkdir(dir);
    const hostKey = path.join(root, "ssh_host_ed25519_key");
    const keyFile = path.join(root, "client_ed25519_key");
    const authorizedKeys = path.join(root, "authorized_keys");
    const knownHostsFile = path.join(root, "known_hosts");
    const configFile = path.join(root, "sshd_config");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "drover-test-host", "-f", hostKey]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "drover-test-client", "-f", keyFile]);
    await writeFile(authorizedKeys, await readFile(`${keyFile}.pub`, "utf8"), { mode: 0o600 });
    const hostPub = (await readFile(`${hostKey}.pub`, "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");

    // sshd's privilege-separation dir; Debian creates it only when the service starts.
    if (!existsSync("/run/sshd")) await mkdir("/run/sshd", { mode: 0o755, recursive: true });

    let lastError = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      await writeFile(knownHostsFile, `[${LOOPBACK}]:${port} ${hostPub}\n`);
      await writeFile(
        configFile,
        [
          `ListenAddress ${LOOPBACK}`,
          `Port ${port}`,
          `PidFile ${path.join(root, "sshd.pid")}`,
          `HostKey ${hostKey}`,
          `AuthorizedKeysFile ${authorizedKeys}`,
          "PubkeyAuthentication yes",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          // No PAM: nothing from /etc/pam.d runs. Note that without PAM, sshd refuses accounts
          // whose password field starts with "!" (locked); Debian's root has "*", which is fine.
          "UsePAM no",
          // Our temp files are not under the user's home, so skip the ownership checks.
          "StrictModes no",
          "PermitRootLogin prohibit-password",
          "PrintMotd no",
          // Lets rclone's sftp backend use the same server.
          ...(existsSync(SFTP_SERVER) ? [`Subsystem sftp ${SFTP_SERVER}`] : []),
          "",
        ].join("\n"),
      );
      // -D: stay in the foreground as our child; -e: log to stderr (kept for error reports).
      const m = spawnManaged(SSHD, ["-D", "-e", "-f", configFile], { stdio: ["ignore", "pipe", "pipe"] }, []);
      try {
        await waitForPort(m, port, "sshd");
      } catch (err) {
        await m.stop();
        lastError = err instanceof Error ? err.message : String(err);
        if (/address already in use/i.test(lastError)) continue; // lost the port race
        break;
      }
      const stop = async () => {
        await m.stop();
        await removeTempDir(root);
      };
      const sshCommand = [
        "ssh",
        "-F /dev/null", // ignore ~/.ssh/config and /etc/ssh/ssh_config
        `-p ${port}`,
        `-i ${keyFile}`,
        "-o IdentitiesOnly=yes",
        `-o UserKnownHostsFile=${knownHostsFile}`,
        "-o GlobalKnownHostsFile=/dev/null",
        "-o StrictHostKeyChecking=yes",
        "-o BatchMode=yes",
        "-o LogLevel=ERROR",
      ].join(" ");
      return { host: LOOPBACK, port, user, keyFile, knownHostsFile, dir, sshCommand, stop, [Symbol.asyncDispose]: stop };
    }
    throw new Error(`sshd could not start: ${lastError}`);
  } catch (err) {
    await removeTempDir(root);
    throw err;
  }
}

// A disposable Cloud Storage emulator on 127.0.0.1 for tests: firebase-tools' storage emulator
// run in a child process (gcs-emulator-child.cjs, with gcs-emulator-extras.cjs filling gaps).
// firebase-tools is ~240 MB, so it lives in its own npm package at <repo>/emulators/gcs,
// installed with `npm ci --prefix emulators/gcs --ignore-scripts`, not in the workspaces.
import { generateKeyPair } from "node:crypto";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { StorageOptions } from "@google-cloud/storage";
import { LOOPBACK, makeTempDir, readJsonLine, spawnManaged } from "./util.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HERE, "gcs-emulator-child.cjs");
const REPO_ROOT = path.resolve(HERE, "../../../..");
const FIREBASE_TOOLS = path.join(REPO_ROOT, "emulators/gcs/node_modules/firebase-tools");

export interface GcsEmulatorServer {
  /** http://127.0.0.1:PORT — give it to `new Storage({ apiEndpoint })`. */
  apiEndpoint: string;
  /** 127.0.0.1:PORT, the form STORAGE_EMULATOR_HOST takes. */
  host: string;
  port: number;
  projectId: string;
  /** A bucket that exists (the emulator cannot create buckets through the API). */
  bucket: string;
  /** The emulator's private TMPDIR, where it keeps object bytes (removed on dispose). */
  dir: string;
  /** Dummy service-account credentials (a fresh RSA key), so that signing URLs happens
   * locally: without credentials google-auth-library probes the GCE metadata server. */
  credentials: { client_email: string; private_key: string };
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startGcsEmulator(opts: { bucket?: string; projectId?: string } = {}): Promise<GcsEmulatorServer> {
  const projectId = opts.projectId ?? "drover-test";
  const bucket = opts.bucket ?? "drover-test";
  if (!existsSync(path.join(FIREBASE_TOOLS, "package.json"))) {
    throw new Error(`GCS emulator: ${FIREBASE_TOOLS} is missing; run \`npm ci --prefix emulators/gcs --ignore-scripts\` at the repo root`);
  }
  const dir = await makeTempDir("gcs");
  // No GOOGLE_*/STORAGE_* variables from the environment reach the emulator: it must not
  // find credentials or a project to call home with.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(GOOGLE_|GCLOUD_|FIREBASE_|STORAGE_EMULATOR)/.test(k)));
  const m = spawnManaged(process.execPath, [CHILD, FIREBASE_TOOLS, projectId, bucket], { env: { ...env, TMPDIR: dir } }, [dir]);
  let port: number;
  let privateKey: string;
  try {
    // The key is generated while the child loads firebase-tools (both take a few hundred ms).
    [{ port }, { privateKey }] = await Promise.all([
      readJsonLine<{ port: number }>(m, "GCS emulator", 60_000),
      promisify(generateKeyPair)("rsa", {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      }),
    ]);
  } catch (err) {
    await m.stop();
    throw err;
  }
  return {
    apiEndpoint: `http://${LOOPBACK}:${port}`,
    host: `${LOOPBACK}:${port}`,
    port,
    projectId,
    bucket,
    dir,
    credentials: { client_email: `test@${projectId}.iam.gserviceaccount.com`, private_key: privateKey },
    stop: m.stop,
    [Symbol.asyncDispose]: m.stop,
  };
}

/** Options for `new Storage(...)` against the emulator. With a custom apiEndpoint the SDK
 * sends no tokens (useAuthWithCustomEndpoint false) and, given a projectId, does not look one
 * up; the dummy credentials cover what remains (getSignedUrl), so no credential lookup ever
 * reaches the GCE metadata server (169.254.169.254) or any other address. */
export function gcsStorageOptions(
  server: Pick<GcsEmulatorServer, "apiEndpoint" | "projectId" | "credentials">,
): StorageOptions {
  return {
    apiEndpoint: server.apiEndpoint,
    projectId: server.projectId,
    useAuthWithCustomEndpoint: false,
    credentials: server.credentials,
  };
}

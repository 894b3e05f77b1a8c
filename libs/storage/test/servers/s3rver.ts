// A disposable s3rver (in-memory-ish S3 on disk) on 127.0.0.1 for tests. It runs as a child
// process (s3rver-child.cjs) because it needs --openssl-legacy-provider; see that file.
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { fileURLToPath } from "node:url";
import { LOOPBACK, makeTempDir, readJsonLine, spawnManaged } from "./util.ts";

const CHILD = fileURLToPath(new URL("./s3rver-child.cjs", import.meta.url));

export interface S3rverServer {
  /** http://127.0.0.1:PORT — give it to S3Client with forcePathStyle. */
  endpoint: string;
  host: typeof LOOPBACK;
  port: number;
  /** An existing, empty bucket. */
  bucket: string;
  region: string;
  /** Dummy credentials: s3rver does not check signatures, but the SDK must sign something. */
  accessKeyId: string;
  secretAccessKey: string;
  /** s3rver's storage directory (removed on dispose). */
  dir: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startS3rver(opts: { bucket?: string } = {}): Promise<S3rverServer> {
  const bucket = opts.bucket ?? "drover-test";
  const dir = await makeTempDir("s3rver");
  // The flag goes on the child's command line rather than in NODE_OPTIONS so that whatever
  // NODE_OPTIONS the test runner set is kept as is.
  const m = spawnManaged(process.execPath, ["--openssl-legacy-provider", CHILD, dir, bucket], {}, [dir]);
  let port: number;
  try {
    ({ port } = await readJsonLine<{ port: number }>(m, "s3rver"));
  } catch (err) {
    await m.stop();
    throw err;
  }
  return {
    endpoint: `http://${LOOPBACK}:${port}`,
    host: LOOPBACK,
    port,
    bucket,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    dir,
    stop: m.stop,
    [Symbol.asyncDispose]: m.stop,
  };
}

/** S3Client options that work against s3rver. The checksum settings matter: with the SDK's
 * default (WHEN_SUPPORTED) a stream body is sent aws-chunked and s3rver stores the chunk
 * framing as object data — silent corruption. */
export function s3ClientOptions(
  server: Pick<S3rverServer, "endpoint" | "region" | "accessKeyId" | "secretAccessKey">,
): S3ClientConfig {
  return {
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
}

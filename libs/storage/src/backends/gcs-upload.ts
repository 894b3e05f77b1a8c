import type { File, FileMetadata } from "@google-cloud/storage";
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface ResumableOptions {
  size?: number;
  sha256?: string;
  contentType?: string;
  signal?: AbortSignal;
  /** The effective API endpoint, to pick an http or https agent. */
  apiEndpoint: string;
}

const PROXY_VARS = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

/**
 * One single-request resumable upload: a session, then one streaming PUT that GCS turns
 * into the object only when the body ends. Never set chunkSize: the Firebase emulator
 * finalises a chunked upload after its first chunk.
 *
 * The rule that must hold: a body that errors (a checksum found wrong at its end, an abort)
 * leaves no object and no request behind. The SDK's write stream, when destroyed, destroys
 * its inner upload *without* the error, so the upload never aborts its PUT: the request
 * just waits for more body, forever (no object appears, but a socket leaks per failure).
 * Worse, a body can fail before the session exists, and the SDK then still creates it and
 * starts the PUT afterwards. So every upload gets its own agent, closed when the upload
 * ends either way: its sockets are destroyed (cutting a PUT off) and it refuses new ones
 * (failing a late one at once). Where a proxy is configured gaxios must build its proxy
 * agent, so the SDK's default is kept and that leak remains possible.
 */
export async function resumableUpload(file: File, body: Readable, options: ResumableOptions): Promise<FileMetadata> {
  const useAgent = PROXY_VARS.every((name) => (process.env[name] ?? "") === "");
  const closable = useAgent ? closableAgent(!options.apiEndpoint.startsWith("http:")) : undefined;
  if (closable !== undefined) file.interceptors.push({ request: (reqOpts) => Object.assign(reqOpts, { agent: closable.agent }) as RequestOptions });
  const writable = file.createWriteStream({
    resumable: true,
    // crc32c is computed as the bytes go and checked against what GCS stored; on a
    // mismatch the SDK deletes the object and fails the write.
    validation: "crc32c",
    metadata: {
      // A known size goes into the session, so a body cut short can never be taken as whole.
      contentLength: options.size,
      contentType: options.contentType,
      metadata: options.sha256 === undefined ? undefined : { sha256: options.sha256 },
    },
  });
  try {
    await pipeline(body, writable, { signal: options.signal });
    return file.metadata;
  } finally {
    closable?.close();
  }
}

/** What an interceptor returns; the agent rides along to gaxios as a request option. */
type RequestOptions = ReturnType<File["interceptors"][number]["request"]>;

type CreateConnection = (options: object, callback: (error: Error | null, socket?: Socket) => void) => Socket | undefined;

/** An agent that, once closed, has no sockets and fails every new request at once. */
function closableAgent(secure: boolean): { agent: http.Agent; close(): void } {
  const agent = secure ? new https.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: false });
  const open = (agent as unknown as { createConnection: CreateConnection }).createConnection.bind(agent);
  let closed = false;
  const createConnection: CreateConnection = (connectOptions, callback) => {
    if (!closed) return open(connectOptions, callback);
    callback(new Error("@drover/storage: this GCS upload has already failed; not starting another request for it"));
    return undefined;
  };
  Object.assign(agent, { createConnection });
  return {
    agent,
    close() {
      closed = true;
      agent.destroy();
    },
  };
}

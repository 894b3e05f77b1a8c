// Child process for gcs-emulator.ts: firebase-tools' Cloud Storage emulator, started from its
// own modules (the CLI emulator would need Java and download a rules jar), on 127.0.0.1 with
// an OS-chosen port. Prints {"port": N} on stdout once it listens.
// Usage: node gcs-emulator-child.cjs <firebase-tools dir> <projectId> <bucket>
// Run with TMPDIR set to a private temp dir: the emulator keeps its blobs under
// os.tmpdir()/firebase/storage/blobs, which would otherwise be shared between instances.
"use strict";
const net = require("node:net");
const path = require("node:path");
const { createRequire } = require("node:module");

const [fbDir, projectId, bucket] = process.argv.slice(2);
if (!fbDir || !projectId || !bucket) {
  process.stderr.write("usage: gcs-emulator-child.cjs <firebase-tools dir> <projectId> <bucket>\n");
  process.exit(2);
}

// Loopback only: firebase-tools has code paths that call Google (project config, update
// checks). Refuse any TCP connection that is not to the loopback address, loudly.
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // connect(options) / connect([options, cb]) (what net.createConnection passes) /
  // connect(port[, host]) / connect(path).
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  if (first && typeof first === "object") host = first.path ? "unix" : (first.host ?? "localhost");
  else if (typeof first === "number" || /^\d+$/.test(String(first))) host = typeof args[1] === "string" ? args[1] : "localhost";
  else host = "unix";
  if (!(host === "unix" || host === "localhost" || host === "::1" || /^127\./.test(host))) {
    process.stderr.write(`gcs emulator: refused a connection to ${host} (loopback only)\n`);
    throw new Error(`gcs emulator test server: connection to ${host} refused (loopback only)`);
  }
  return connect.apply(this, args);
};

const fbRequire = createRequire(path.join(fbDir, "package.json"));
const express = fbRequire("express");
const { StorageEmulator } = fbRequire("./lib/emulator/storage/index.js");
const { createApp } = fbRequire("./lib/emulator/storage/server.js");
const { StorageRulesRuntime } = fbRequire("./lib/emulator/storage/rules/runtime.js");
const { EmulatorRegistry } = fbRequire("./lib/emulator/registry.js");
const { Emulators } = fbRequire("./lib/emulator/types.js");
const { CloudStorageObjectMetadata } = fbRequire("./lib/emulator/storage/metadata.js");
const { installExtras } = require("./gcs-emulator-extras.cjs");

// The rules runtime is a Java process; the gcloud API uses the admin storage layer, which
// never consults rules, so it is stubbed out rather than started.
StorageRulesRuntime.prototype.start = async () => {};
StorageRulesRuntime.prototype.stop = async () => {};

async function main() {
  const emulator = new StorageEmulator({ projectId, host: "127.0.0.1", port: 0, auto_download: false });
  const inner = await createApp(projectId, emulator);

  const app = express();
  // @google-cloud/storage calls <apiEndpoint>/storage/v1/b/..., but the emulator registers
  // PATCH (metadata update) and copyTo/rewriteTo only without the /storage/v1 prefix (GET,
  // list and DELETE exist in both forms). Stripping the prefix for every request serves all.
  app.use((req, _res, next) => {
    if (req.url.startsWith("/storage/v1/")) req.url = req.url.slice("/storage/v1".length);
    next();
  });
  // What the emulator lacks and our tests need: bucket get/create, signed PUT,
  // ifGenerationMatch, chunked resumable uploads. See gcs-emulator-extras.cjs.
  installExtras(app, emulator, { express, CloudStorageObjectMetadata });
  app.use(inner);

  const server = app.listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    // Object metadata (selfLink, mediaLink) is built from the registry's host and port, so
    // the emulator must be registered with the port we got.
    emulator.args.port = port;
    EmulatorRegistry.set(Emulators.STORAGE, emulator);
    // The emulator creates a bucket on first use of a /b/<bucket>/ URL; creating ours now
    // also keeps listBuckets() from looking up the project's config at Google.
    emulator.adminStorageLayer.createBucket(bucket);
    process.stdout.write(JSON.stringify({ port }) + "\n");
  });
  server.on("error", (err) => {
    process.stderr.write(`gcs emulator failed to listen: ${err.stack || err}\n`);
    process.exit(1);
  });
  const sockets = new Set();
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });

  // The parent holds our stdin open; when it goes away (even killed) we stop.
  const stop = () => {
    for (const s of sockets) s.destroy();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.stdin.on("end", stop);
  process.stdin.resume();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`gcs emulator failed to start: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});

// Child process for s3rver.ts: runs s3rver on 127.0.0.1 with an OS-chosen port and prints
// {"port": N} on stdout once it listens. It runs in its own process because s3rver needs
// --openssl-legacy-provider (it encrypts ListObjectsV2 continuation tokens with DES; without
// the flag paginated listing returns 500), and that flag must not leak into the test process.
// Usage: node --openssl-legacy-provider s3rver-child.cjs <directory> <bucket>
"use strict";
const S3rver = require("s3rver");
const FilesystemStore = require("s3rver/lib/stores/filesystem");

// s3rver lists in directory-walk order ("a/x" before "a-b"), unlike S3's UTF-8 byte order,
// so paging by StartAfter silently skips keys. Re-sort its listing the way S3 does, so the
// tests check our code against S3's real semantics.
const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucketName, options) {
  const { startAfter = "", maxKeys = Infinity } = options;
  const all = await listObjects.call(this, bucketName, { ...options, startAfter: undefined, maxKeys: Infinity });
  const cmp = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const after = all.objects.filter((o) => cmp(o.key, startAfter) > 0).sort((a, b) => cmp(a.key, b.key));
  const objects = after.slice(0, maxKeys);
  const isTruncated = after.length > maxKeys;
  const last = objects.length > 0 ? objects[objects.length - 1].key : undefined;
  const commonPrefixes = all.commonPrefixes.filter((p) => cmp(p, startAfter) > 0 && (!isTruncated || cmp(p, last) < 0)).sort(cmp);
  return { objects, commonPrefixes, isTruncated };
};

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  process.stderr.write("usage: s3rver-child.cjs <directory> <bucket>\n");
  process.exit(2);
}

const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});

server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + "\n"),
  (err) => {
    process.stderr.write(`s3rver failed to start: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);

// The parent holds our stdin open; when it goes away (even killed) stdin ends and we stop,
// so no orphaned server outlives a test run.
const stop = () => server.close().finally(() => process.exit(0));
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

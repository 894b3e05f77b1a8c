// Real servers on loopback for the storage tests and the storage benchmark
// (exported as @drover/storage/test-servers; never used by library code).
export { startS3rver, s3ClientOptions, type S3rverServer } from "./s3rver.ts";
export { startGcsEmulator, gcsStorageOptions, type GcsEmulatorServer } from "./gcs-emulator.ts";
export { startRsyncDaemon, type RsyncDaemonServer } from "./rsync-daemon.ts";
export { startSshd, type SshdServer } from "./sshd.ts";

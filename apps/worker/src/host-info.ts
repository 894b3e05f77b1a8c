import { arch, cpus, hostname, platform, totalmem } from "node:os";
import type { HostInfo } from "@drover/protocol";

export function hostInfo(): HostInfo {
  return {
    hostname: hostname().slice(0, 255),
    platform: platform(),
    arch: arch(),
    cpus: cpus().length,
    memoryBytes: totalmem(),
    pid: process.pid,
    nodeVersion: process.version,
  };
}

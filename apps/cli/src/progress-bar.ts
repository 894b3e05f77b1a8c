import cliProgress from "cli-progress";
import type { TransferProgress } from "@drover/storage";

/** Transfers under this size finish before a bar would be worth drawing. */
const MIN_BYTES_FOR_BAR = 8 * 1024 * 1024;

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/**
 * A progress bar on stderr for large transfers, only when stderr is a terminal (CI logs
 * and pipes get the one-line summary instead).
 */
export function transferBar(label: string): { update: (p: TransferProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(p) {
      if (bar === undefined) {
        if (p.bytesTotal < MIN_BYTES_FOR_BAR && p.bytesDone < MIN_BYTES_FOR_BAR) return;
        bar = new cliProgress.SingleBar(
          { format: `${label} {bar} {percentage}% | {mbDone}/{mbTotal} MiB | {files} files | {rate} MiB/s`, stream: process.stderr, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(p.bytesTotal, 1), 0);
      }
      bar.setTotal(Math.max(p.bytesTotal, p.bytesDone, 1));
      bar.update(p.bytesDone, { mbDone: mib(p.bytesDone), mbTotal: mib(p.bytesTotal), files: `${p.filesDone}/${p.filesTotal}`, rate: mib(p.rate) });
    },
    stop() {
      bar?.stop();
    },
  };
}

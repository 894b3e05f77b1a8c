/** What uploadDir, downloadDir and the CLI report while a transfer runs. */
export interface TransferProgress {
  filesTotal: number;
  filesDone: number;
  /** Files left alone because the destination already held them identical. */
  filesSkipped: number;
  bytesTotal: number;
  bytesDone: number;
  /** Bytes per second since the transfer started. */
  rate: number;
  /** The file that just finished, if any. */
  file?: string;
}

export type ProgressListener = (progress: TransferProgress) => void;

/**
 * Counts a transfer's progress and calls the listener at most every `intervalMs` for byte
 * updates (a 50 KB chunk callback per file would otherwise flood it) and always on file
 * completion and at the end.
 */
export class ProgressTracker {
  readonly state: TransferProgress = { filesTotal: 0, filesDone: 0, filesSkipped: 0, bytesTotal: 0, bytesDone: 0, rate: 0 };
  private readonly started = performance.now();
  private lastEmit = 0;

  constructor(
    private readonly listener: ProgressListener | undefined,
    private readonly intervalMs = 100,
  ) {}

  bytes(delta: number): void {
    this.state.bytesDone += delta;
    this.emitIfDue();
  }

  /** More to do, found while the transfer runs (a listing's next page): reported like bytes. */
  totals(files: number, bytes: number): void {
    this.state.filesTotal += files;
    this.state.bytesTotal += bytes;
    this.emitIfDue();
  }

  private emitIfDue(): void {
    const now = performance.now();
    if (now - this.lastEmit >= this.intervalMs) this.emit(now);
  }

  fileDone(file: string, skipped: boolean): void {
    this.state.filesDone++;
    if (skipped) this.state.filesSkipped++;
    this.state.file = file;
    this.emit(performance.now());
  }

  emit(now = performance.now()): void {
    if (this.listener === undefined) return;
    this.lastEmit = now;
    const seconds = (now - this.started) / 1000;
    this.state.rate = seconds > 0 ? this.state.bytesDone / seconds : 0;
    this.listener({ ...this.state });
  }
}

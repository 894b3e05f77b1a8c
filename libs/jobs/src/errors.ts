/**
 * Thrown by a plugin when retrying cannot help (bad input, a 404, a missing tool):
 * the worker fails the job for good instead of scheduling another attempt.
 * Any other error is retried until the job's maxAttempts.
 */
export class NonRetryableError extends Error {
  override readonly name = "NonRetryableError";
  readonly code: string;
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? "NON_RETRYABLE";
  }
}

/** The one error type of @drover/jobs itself (plugin loading and declaration). */
export class PluginLoadError extends Error {
  override readonly name = "PluginLoadError";
  constructor(
    readonly specifier: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(`plugin '${specifier}': ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * Thrown by a later stage whose input turned out unusable because of the stage before it
 * (Crawling@Home's "invalid download"): the worker fails this job for good and the
 * coordinator reopens the job that spawned it, in one transaction.
 */
export class RequeueParentError extends Error {
  override readonly name = "RequeueParentError";
  readonly code: string;
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? "REQUEUE_PARENT";
  }
}

/** Stable codes of hub client failures; branch on these, not on messages. */
export const HUB_ERROR_CODES = ["UNAUTHENTICATED", "NOT_FOUND", "INVALID_PATH", "CHECKSUM_MISMATCH", "HTTP_ERROR", "UNAVAILABLE"] as const;
export type HubErrorCode = (typeof HUB_ERROR_CODES)[number];

/** The one error type of the dataset hub client. */
export class HubError extends Error {
  override readonly name = "HubError";
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly status?: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** The HubError for a non-2xx answer, with the server's message when it sent one. */
export async function errorOf(res: Response, what: string): Promise<HubError> {
  let message = `${what}: HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    if (body.error?.message) message = `${what}: ${body.error.message}`;
  } catch {
    // Not JSON: the status says enough.
  }
  const code: HubErrorCode = res.status === 401 || res.status === 403 ? "UNAUTHENTICATED" : res.status === 404 ? "NOT_FOUND" : res.status === 400 ? "INVALID_PATH" : res.status >= 500 ? "UNAVAILABLE" : "HTTP_ERROR";
  return new HubError(code, message, res.status);
}

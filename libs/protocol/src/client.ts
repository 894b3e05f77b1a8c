import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "./router/index.ts";
import { isDroverErrorCode, type DroverErrorCode } from "./errors.ts";
import { nodeFetch } from "./node-fetch.ts";

export interface DroverClientOptions {
  /** Coordinator base URL, e.g. `http://127.0.0.1:7400`. The tRPC endpoint is `<url>/trpc`. */
  url: string;
  /** Bearer token; omit only to call `system.health`. */
  token?: string | undefined;
  /** The fetch to call with; default a keep-alive node:http one (`globalThis.fetch` works too). */
  fetch?: typeof fetch;
}

/**
 * The typed client scripts use. Every call is one HTTP request (no batching), so a
 * long-polling `leases.acquire` never holds back another call.
 */
export function createDroverClient(options: DroverClientOptions) {
  const base = options.url.replace(/\/+$/, "");
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${base}/trpc`,
        methodOverride: "POST",
        fetch: (options.fetch ?? nodeFetch) as typeof fetch,
        headers: () => (options.token ? { authorization: `Bearer ${options.token}` } : {}),
      }),
    ],
  });
}

export type DroverClient = ReturnType<typeof createDroverClient>;

/** The Drover error code of a failed call, or undefined for network errors and the like. */
export function droverErrorCode(error: unknown): DroverErrorCode | undefined {
  if (error instanceof TRPCClientError) {
    const code = (error.data as { droverCode?: unknown } | undefined)?.droverCode;
    return isDroverErrorCode(code) ? code : undefined;
  }
  return undefined;
}

/**
 * True when the call never got an answer from the coordinator (refused, reset, DNS,
 * a proxy's 502/503/504): the caller should retry with backoff.
 */
export function isTransientClientError(error: unknown): boolean {
  if (!(error instanceof TRPCClientError)) return false;
  const code = droverErrorCode(error);
  if (code) return code === "UNAVAILABLE";
  const status = (error.data as { httpStatus?: number } | undefined)?.httpStatus;
  if (status !== undefined) return status >= 500 && status !== 500;
  return true; // no tRPC error shape: the request did not reach a coordinator
}

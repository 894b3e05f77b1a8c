import type { DroverClient } from "@drover/protocol";

/**
 * A `ctx.coordinator` for running a job type outside a worker (a plugin's unit tests, a
 * benchmark): any call throws, naming the procedure, instead of reaching a network.
 */
export function offlineCoordinator(): DroverClient {
  const path = (parts: string[]): unknown =>
    new Proxy(() => undefined, {
      get: (_target, key) => (typeof key === "string" ? path([...parts, key]) : undefined),
      apply: () => {
        throw new Error(`ctx.coordinator.${parts.join(".")}: this job runs without a coordinator`);
      },
    });
  return path([]) as DroverClient;
}

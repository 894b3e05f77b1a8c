import { droverErrorCode } from "@drover/protocol";

/** Prints an error and exits: 2 for bad usage or config, 1 otherwise. */
export function fail(message: string, code = 1): never {
  console.error(`drover: ${message}`);
  process.exit(code);
}

/** Runs a command body, turning errors into one readable line with the Drover code. */
export function action<A extends unknown[]>(body: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await body(...args);
    } catch (error) {
      const code = droverErrorCode(error);
      if (error instanceof Error && error.name === "ConfigError") fail(error.message, 2);
      fail(code ? `${code}: ${(error as Error).message}` : (error as Error).message ?? String(error));
    }
  };
}

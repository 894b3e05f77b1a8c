import { ESLint } from "eslint";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../../..");

/** Lints `code` as if it were a file at `path` in the workspace (nothing is written). */
async function boundaryErrors(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: resolve(root, path) });
  return result!.messages.filter((m) => m.ruleId === "@nx/enforce-module-boundaries").map((m) => m.message);
}

describe("the module-boundary lint rule", () => {
  it("fails a lib that imports an app", async () => {
    expect(await boundaryErrors("libs/jobs/src/x.ts", 'import { startCoordinator } from "@drover/coordinator";\nexport const x = startCoordinator;\n')).not.toEqual([]);
  });

  it("fails libs/protocol or libs/storage importing any other workspace package", async () => {
    expect(await boundaryErrors("libs/protocol/src/x.ts", 'import { noopJob } from "@drover/jobs";\nexport const x = noopJob;\n')).not.toEqual([]);
    expect(await boundaryErrors("libs/storage/src/x.ts", 'import { appRouter } from "@drover/protocol";\nexport const x = appRouter;\n')).not.toEqual([]);
  });

  it("fails the coordinator importing the worker", async () => {
    expect(await boundaryErrors("apps/coordinator/src/x.ts", 'import { Worker } from "@drover/worker";\nexport const x = Worker;\n')).not.toEqual([]);
  });

  it("lets libs/jobs use libs/protocol and the CLI compose the apps", async () => {
    expect(await boundaryErrors("libs/jobs/src/x.ts", 'import { appRouter } from "@drover/protocol";\nexport const x = appRouter;\n')).toEqual([]);
    expect(await boundaryErrors("apps/cli/src/x.ts", 'import { startCoordinator } from "@drover/coordinator";\nexport const x = startCoordinator;\n')).toEqual([]);
  });
});

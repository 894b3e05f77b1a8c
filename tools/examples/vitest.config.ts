import { defineConfig } from "vitest/config";

export default defineConfig({
  ssr: { resolve: { conditions: ["@drover/source", "node", "import", "default"] } },
  resolve: { conditions: ["@drover/source", "node", "import", "default"] },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    passWithNoTests: true,
  },
});

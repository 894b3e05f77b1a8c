import { defineConfig } from "vitest/config";

// One vitest setup for every project: workspace packages resolve to their TypeScript
// sources (the @drover/source condition), tests are real-process and real-server, so
// the timeouts are generous and each file runs in its own fork.
const conditions = ["@drover/source", "node", "import", "default"];

export default defineConfig({
  ssr: { resolve: { conditions } },
  resolve: { conditions },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});

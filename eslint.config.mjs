import nx from "@nx/eslint-plugin";
import tseslint from "typescript-eslint";

const depConstraints = [
  // libs/protocol and libs/storage import no other workspace package.
  { sourceTag: "scope:protocol", onlyDependOnLibsWithTags: ["scope:protocol"] },
  { sourceTag: "scope:storage", onlyDependOnLibsWithTags: ["scope:storage"] },
  // Other libs may use libs only: never an app.
  { sourceTag: "type:lib", onlyDependOnLibsWithTags: ["type:lib"] },
  // The coordinator and the worker stand on libs; neither imports the other.
  { sourceTag: "scope:coordinator", onlyDependOnLibsWithTags: ["type:lib"] },
  { sourceTag: "scope:worker", onlyDependOnLibsWithTags: ["type:lib"] },
  // The CLI puts the apps together; tools may use anything.
  { sourceTag: "scope:cli", onlyDependOnLibsWithTags: ["type:lib", "type:app"] },
  { sourceTag: "type:tool", onlyDependOnLibsWithTags: ["type:lib", "type:app", "type:tool"] },
];
const boundaries = (allow, constraints = depConstraints) => ["error", { enforceBuildableLibDependency: false, allow, depConstraints: constraints }];
// Tests may also use the fixture generators (tools/fixtures, scope:fixtures); sources may not.
const testConstraints = depConstraints.map((c) => ({ ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, "scope:fixtures"] }));
const APPS = ["@drover/coordinator", "@drover/worker", "@drover/cli"];

export default [
  // Each project's vitest.config.ts only re-exports the root vitest.shared.ts.
  { ignores: ["**/node_modules/**", "**/dist/**", "**/.drover/**", "**/drizzle/**", "**/vitest.config.ts"] },
  {
    files: ["**/*.ts", "**/*.mts", "**/*.js", "**/*.mjs"],
    languageOptions: { parser: tseslint.parser, ecmaVersion: "latest", sourceType: "module" },
    plugins: { "@nx": nx },
    rules: {
      // The module-boundary rule: arrows point one way (DESIGN.md "Layout").
      "@nx/enforce-module-boundaries": boundaries([]),
    },
  },
  { files: ["libs/*/test/**"], plugins: { "@nx": nx }, rules: { "@nx/enforce-module-boundaries": boundaries([], testConstraints) } },
  // nx forbids importing an app from anywhere; the CLI, the tools and the apps' own
  // cross-process tests are where the apps are composed, so only they may name them.
  { files: ["apps/cli/**", "tools/**"], plugins: { "@nx": nx }, rules: { "@nx/enforce-module-boundaries": boundaries(APPS) } },
  { files: ["apps/*/test/**", "libs/sdk/test/**"], plugins: { "@nx": nx }, rules: { "@nx/enforce-module-boundaries": boundaries(APPS, testConstraints) } },
];

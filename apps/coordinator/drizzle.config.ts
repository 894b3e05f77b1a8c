import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./apps/coordinator/src/db/schema.ts",
  out: "./apps/coordinator/drizzle",
});

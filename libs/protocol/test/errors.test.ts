import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERROR_DOCS, TRPC_CODE_OF, DroverError, PERMISSIONS, ROLES, roleAllows } from "../src/index.ts";

describe("error catalog", () => {
  it("documents every code and maps each to a transport code", () => {
    for (const code of ERROR_CODES) {
      expect(ERROR_DOCS[code], code).toMatch(/\w+ \w+ \w+/);
      expect(TRPC_CODE_OF[code], code).toBeTruthy();
    }
    expect(Object.keys(ERROR_DOCS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it("lists every code in the README's error table", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../../README.md"), "utf8");
    for (const code of ERROR_CODES) expect(readme, code).toContain(`| \`${code}\` |`);
  });

  it("says which errors a retry can cure", () => {
    expect(new DroverError("UNAVAILABLE", "x").retryable).toBe(true);
    expect(new DroverError("LEASE_CONFLICT", "x").retryable).toBe(false);
  });
});

describe("roles", () => {
  it("gives workers leases but not submit or admin, and readers only read", () => {
    expect(ROLES.every((r) => PERMISSIONS[r].includes("read"))).toBe(true);
    expect(roleAllows("worker", "lease")).toBe(true);
    expect(roleAllows("worker", "submit")).toBe(false);
    expect(roleAllows("worker", "admin")).toBe(false);
    expect(roleAllows("submitter", "lease")).toBe(false);
    expect(roleAllows("reader", "submit")).toBe(false);
    expect(roleAllows("admin", "admin")).toBe(true);
  });
});

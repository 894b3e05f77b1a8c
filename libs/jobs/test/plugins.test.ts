import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { builtinJobTypes, builtinSpecs, defineJobType, loadPlugin, loadPlugins, PluginLoadError, specOf } from "../src/index.ts";

const fixture = (name: string) => resolve(import.meta.dirname, "fixtures", name);

describe("defineJobType", () => {
  it("accepts a well-formed type and refuses bad declarations with the field named", () => {
    const ok = defineJobType({ name: "x.y", payload: z.object({ a: z.number() }), run: () => 1 });
    expect(ok.name).toBe("x.y");
    expect(() => defineJobType({ name: "X Y", payload: z.object({}), run: () => 1 })).toThrow(/name must be a lower-case dotted name/);
    expect(() => defineJobType({ name: "x", payload: {} as never, run: () => 1 })).toThrow(/payload must be a zod schema/);
    expect(() => defineJobType({ name: "x", payload: z.object({}), defaults: { leaseSeconds: 0 }, run: () => 1 })).toThrow(/defaults.leaseSeconds/);
    expect(() => defineJobType({ name: "x", payload: z.object({}), run: "no" as never })).toThrow(/run must be a function/);
  });

  it("specOf keeps only what the coordinator needs (no runner)", () => {
    const spec = specOf(defineJobType({ name: "x", payload: z.object({}), run: () => 1 }));
    expect(Object.keys(spec)).toEqual(["name", "payload"]);
  });

  it("built-in specs match the built-in runners", () => {
    // crawl.gpu is leased only by old Crawling@Home GPU clients (the coordinator's compat API): a spec without a runner.
    const specOnly = new Set(["crawl.gpu"]);
    expect(builtinSpecs.map((s) => s.name).filter((n) => !specOnly.has(n))).toEqual(builtinJobTypes.map((t) => t.name));
  });
});

describe("loadPlugin", () => {
  it("loads a default-exported array of job types", async () => {
    const types = await loadPlugin(fixture("two-types.mjs"));
    expect(types.map((t) => t.name)).toEqual(["test.one", "test.two"]);
  });

  it("refuses a missing file, a module without a default export and a bad declaration, naming the plugin", async () => {
    await expect(loadPlugin("./nope.mjs", import.meta.dirname)).rejects.toThrow(/plugin '.\/nope.mjs': no such file/);
    await expect(loadPlugin(fixture("no-default.mjs"))).rejects.toThrow(/has no default export/);
    await expect(loadPlugin(fixture("bad-name.mjs"))).rejects.toBeInstanceOf(PluginLoadError);
    await expect(loadPlugin("@drover/does-not-exist")).rejects.toThrow(/cannot be imported/);
  });

  it("refuses a job type defined twice", async () => {
    await expect(loadPlugins([fixture("two-types.mjs"), fixture("two-types.mjs")])).rejects.toThrow(/'test.one' is already defined/);
  });
});

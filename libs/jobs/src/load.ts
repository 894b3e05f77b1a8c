import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { assertJobType, type JobType } from "./define.ts";
import { PluginLoadError } from "./errors.ts";

/**
 * Loads job types from a plugin module: a path (absolute, or relative to `cwd`) or a
 * package name. The module's default export is one job type or an array of them
 * (a named `jobTypes` export works too). Each is checked at load, so a bad plugin is
 * refused at start with a clear message instead of failing its first job.
 */
export async function loadPlugin(specifier: string, cwd = process.cwd()): Promise<JobType[]> {
  const looksLikePath = specifier.startsWith(".") || isAbsolute(specifier) || /\.[cm]?[jt]s$/.test(specifier);
  let target = specifier;
  if (looksLikePath) {
    const file = resolve(cwd, specifier);
    if (!existsSync(file)) throw new PluginLoadError(specifier, `no such file: ${file}`);
    target = pathToFileURL(file).href;
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(target)) as Record<string, unknown>;
  } catch (cause) {
    throw new PluginLoadError(specifier, `cannot be imported: ${(cause as Error).message}`, { cause });
  }
  const exported = mod.default ?? mod.jobTypes ?? mod.jobType;
  if (exported === undefined) throw new PluginLoadError(specifier, "has no default export (expected defineJobType(...) or an array of them)");
  const list = Array.isArray(exported) ? exported : [exported];
  if (list.length === 0) throw new PluginLoadError(specifier, "exports an empty list of job types");
  return list.map((value, i) => {
    try {
      assertJobType(value, list.length > 1 ? `job type #${i}` : "job type");
    } catch (cause) {
      throw new PluginLoadError(specifier, (cause as Error).message, { cause });
    }
    return value;
  });
}

/** Loads several plugins; a type name defined twice is refused. */
export async function loadPlugins(specifiers: readonly string[], base: readonly JobType[] = [], cwd = process.cwd()): Promise<JobType[]> {
  const byName = new Map(base.map((t) => [t.name, t]));
  for (const specifier of specifiers) {
    for (const type of await loadPlugin(specifier, cwd)) {
      if (byName.has(type.name)) throw new PluginLoadError(specifier, `job type '${type.name}' is already defined`);
      byName.set(type.name, type);
    }
  }
  return [...byName.values()];
}

#!/usr/bin/env node
// Loads the TypeScript CLI through tsx's loader in this same process (so signals reach it).
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");

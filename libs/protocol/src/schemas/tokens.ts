import { z } from "zod";
import { EpochMs, Role } from "./common.ts";

export const TokenCreateInput = z.strictObject({
  name: z.string().min(1).max(200),
  role: Role,
  /** The user the token acts for; jobs record it. Default: the token's name. */
  user: z.string().min(1).max(200).optional(),
});

export const TokenCreated = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
  user: z.string(),
  /** Shown once; only its hash is stored. */
  token: z.string(),
});
export type TokenCreated = z.infer<typeof TokenCreated>;

export const TokenInfo = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
  user: z.string(),
  createdAt: EpochMs,
  lastUsedAt: EpochMs.nullable(),
  revokedAt: EpochMs.nullable(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

export const TokenIdInput = z.strictObject({ id: z.string().min(1).max(100) });

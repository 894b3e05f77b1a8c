import { DroverError, type Principal, type Role, type TokenCreated, type TokenInfo, type TokensService } from "@drover/protocol";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import { tokens } from "../db/schema.ts";
import type { Db } from "../db/open.ts";

/** Tokens look like `drv_<id>_<secret>`: the id finds the row, the secret is checked against its hash. */
const FORMAT = /^drv_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
/** A DROVER_ADMIN_TOKEN that is not in Drover's format is stored under this id. */
const ENV_ADMIN_ID = "env-admin";
/** How long an authenticated token is trusted without reading its row again (revoke clears it at once). */
const CACHE_MS = 5000;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function split(token: string): { id: string; secret: string } {
  const m = FORMAT.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : { id: ENV_ADMIN_ID, secret: token };
}

type Row = typeof tokens.$inferSelect;

function info(row: Row): TokenInfo {
  return { id: row.id, name: row.name, role: row.role, user: row.user, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt, revokedAt: row.revokedAt };
}

export class TokensServiceImpl implements TokensService {
  private readonly cache = new Map<string, { principal: Principal; hash: Buffer; until: number }>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(private readonly db: Db) {}

  /** Mints a token; only its hash is stored. */
  mint(req: { name: string; role: Role; user?: string | undefined }): TokenCreated {
    const id = randomBytes(8).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const user = req.user ?? req.name;
    this.db.insert(tokens).values({ id, name: req.name, role: req.role, user, secretHash: sha256(secret).toString("hex"), createdAt: Date.now() }).run();
    return { id, name: req.name, role: req.role, user, token: `drv_${id}_${secret}` };
  }

  create(_by: Principal, req: { name: string; role: Role; user?: string | undefined }): TokenCreated {
    return this.mint(req);
  }

  list(_by: Principal): TokenInfo[] {
    return this.db.select().from(tokens).orderBy(tokens.createdAt).all().map(info);
  }

  revoke(_by: Principal, id: string): TokenInfo {
    const row = this.db.select().from(tokens).where(eq(tokens.id, id)).get();
    if (!row) throw new DroverError("NOT_FOUND", `token ${id} does not exist`, { details: { field: "id" } });
    if (row.revokedAt === null) this.db.update(tokens).set({ revokedAt: Date.now() }).where(eq(tokens.id, id)).run();
    this.cache.delete(id);
    return info(this.db.select().from(tokens).where(eq(tokens.id, id)).get()!);
  }

  /** Revokes every live token with this name (used by `drover up` to replace its session token). */
  revokeByName(name: string): void {
    const live = this.db.select().from(tokens).where(and(eq(tokens.name, name), isNull(tokens.revokedAt))).all();
    for (const row of live) this.revoke({ tokenId: "system", role: "admin", user: "system" }, row.id);
  }

  /** Makes sure DROVER_ADMIN_TOKEN (any string of 16+ characters) is a live admin token. */
  ensureAdminToken(token: string): void {
    const { id, secret } = split(token);
    const hash = sha256(secret).toString("hex");
    const existing = this.db.select().from(tokens).where(eq(tokens.id, id)).get();
    if (existing) {
      this.db.update(tokens).set({ secretHash: hash, role: "admin", revokedAt: null }).where(eq(tokens.id, id)).run();
    } else {
      this.db.insert(tokens).values({ id, name: "env-admin", role: "admin", user: "admin", secretHash: hash, createdAt: Date.now() }).run();
    }
    this.cache.delete(id);
  }

  hasLiveAdmin(): boolean {
    return this.db.select({ id: tokens.id }).from(tokens).where(and(eq(tokens.role, "admin"), isNull(tokens.revokedAt))).get() !== undefined;
  }

  /** The caller behind a bearer token, or null. Compares hashes in constant time. */
  authenticate(token: string): Principal | null {
    if (token.length < 16 || token.length > 200) return null;
    const { id, secret } = split(token);
    const hash = sha256(secret);
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && cached.until > now) return timingSafeEqual(cached.hash, hash) ? cached.principal : null;
    const row = this.db.select().from(tokens).where(eq(tokens.id, id)).get();
    if (!row || row.revokedAt !== null) return null;
    const stored = Buffer.from(row.secretHash, "hex");
    if (stored.length !== hash.length || !timingSafeEqual(stored, hash)) return null;
    const principal: Principal = { tokenId: row.id, role: row.role, user: row.user };
    this.cache.set(id, { principal, hash: stored, until: now + CACHE_MS });
    if (now - (this.lastUsedWritten.get(id) ?? 0) > 60_000) {
      this.lastUsedWritten.set(id, now);
      this.db.update(tokens).set({ lastUsedAt: now }).where(eq(tokens.id, id)).run();
    }
    return principal;
  }
}

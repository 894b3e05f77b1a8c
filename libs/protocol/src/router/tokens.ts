import { NoInput } from "../schemas/common.ts";
import { z } from "zod";
import { procedureFor, router } from "../trpc.ts";
import { TokenCreated, TokenCreateInput, TokenIdInput, TokenInfo } from "../schemas/tokens.ts";

const admin = procedureFor("admin");

export const tokensRouter = router({
  create: admin.input(TokenCreateInput).output(TokenCreated).mutation(({ ctx, input }) => ctx.services.tokens.create(ctx.principal, input)),
  list: admin.input(NoInput).output(z.array(TokenInfo)).query(({ ctx }) => ctx.services.tokens.list(ctx.principal)),
  revoke: admin.input(TokenIdInput).output(TokenInfo).mutation(({ ctx, input }) => ctx.services.tokens.revoke(ctx.principal, input.id)),
});

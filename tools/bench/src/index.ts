// Public surface of @drover/bench, chosen by hand: the pure helpers. The benchmark itself
// runs from src/main.ts (`npm run bench`).
export { median, percentile, perSecond, round, summarize, type Summary } from "./stats.ts";
export { formatTable, met, type Row, type ScenarioResult, type Target } from "./report.ts";
export { SCENARIOS, type ScenarioName } from "./config.ts";

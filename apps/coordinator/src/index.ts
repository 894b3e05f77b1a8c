// Public surface of @drover/coordinator, chosen by hand.
export { startCoordinator, VERSION, type RunningCoordinator, type StartOptions } from "./coordinator.ts";
export { parseCoordinatorConfig, parseConfig, ConfigError, COORDINATOR_ENV, CoordinatorConfigSchema, type CoordinatorConfig, type CoordinatorConfigInput } from "./config.ts";
export { openDatabase, type Db } from "./db/open.ts";

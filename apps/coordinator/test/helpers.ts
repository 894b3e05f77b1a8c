export { ADMIN_TOKEN, startTestCoordinator, type TestCoordinator } from "../src/testing.ts";

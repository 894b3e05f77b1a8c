// @drover/sdk: helpers for people who write their own loop instead of a plugin.
export { CrawlingAtHomeClient, NoJobError, type CrawlingAtHomeOptions } from "./crawling-at-home.ts";

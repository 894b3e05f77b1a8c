// @drover/sdk: helpers for people who write their own loop instead of a plugin.
export { CrawlingAtHomeClient, NoJobError, type CrawlingAtHomeOptions } from "./crawling-at-home.ts";
export {
  DatasetHubClient,
  type DatasetHubClientOptions,
  type DownloadDatasetOptions,
  type DownloadProgress,
  type Manifest,
  type ManifestEntry,
} from "./hub/client.ts";
export { HubError, HUB_ERROR_CODES, type HubErrorCode } from "./hub/errors.ts";

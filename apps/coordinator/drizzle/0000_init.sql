CREATE TABLE `job_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` integer NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`attempt` integer NOT NULL,
	`worker_id` text,
	`data` text
);
--> statement-breakpoint
CREATE INDEX `job_events_job_idx` ON `job_events` (`job_id`,`id`);--> statement-breakpoint
CREATE TABLE `job_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` integer NOT NULL,
	`attempt` integer NOT NULL,
	`at` integer NOT NULL,
	`line` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `job_logs_job_idx` ON `job_logs` (`job_id`,`id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`type` text NOT NULL,
	`queue` text NOT NULL,
	`payload` text NOT NULL,
	`priority` integer DEFAULT 0 NOT NULL,
	`run_after` integer NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`lease_seconds` integer NOT NULL,
	`lease_id` text,
	`lease_expires_at` integer,
	`worker_id` text,
	`idempotency_key` text,
	`progress_fraction` real,
	`progress_message` text,
	`result` text,
	`error` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `jobs_claim_idx` ON `jobs` (`type`,`queue`,"priority" DESC,`run_after`,`id`) WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX `jobs_lease_expiry_idx` ON `jobs` (`lease_expires_at`) WHERE status = 'leased';--> statement-breakpoint
CREATE INDEX `jobs_worker_idx` ON `jobs` (`worker_id`) WHERE status = 'leased';--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_idempotency_key_idx` ON `jobs` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `jobs_queue_status_finished_idx` ON `jobs` (`queue`,`status`,`finished_at`);--> statement-breakpoint
CREATE INDEX `jobs_type_status_idx` ON `jobs` (`type`,`status`);--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `queues` (
	`name` text PRIMARY KEY NOT NULL,
	`paused` integer DEFAULT false NOT NULL,
	`paused_until` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`user` text NOT NULL,
	`secret_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE TABLE `workers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`labels` text NOT NULL,
	`types` text NOT NULL,
	`concurrency` integer NOT NULL,
	`version` text NOT NULL,
	`host` text NOT NULL,
	`token_id` text NOT NULL,
	`registered_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`gone_at` integer
);

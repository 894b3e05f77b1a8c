CREATE TABLE `job_counters` (
	`worker_name` text NOT NULL,
	`type` text NOT NULL,
	`name` text NOT NULL,
	`value` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`worker_name`, `type`, `name`)
);
--> statement-breakpoint
CREATE TABLE `sequences` (
	`name` text PRIMARY KEY NOT NULL,
	`next` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `jobs` ADD `parent_id` integer;
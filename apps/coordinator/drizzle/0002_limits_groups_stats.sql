CREATE TABLE `job_stats` (
	`bucket` integer NOT NULL,
	`queue` text NOT NULL,
	`user` text NOT NULL,
	`name` text NOT NULL,
	`value` integer NOT NULL,
	PRIMARY KEY(`queue`, `bucket`, `user`, `name`)
);
--> statement-breakpoint
ALTER TABLE `jobs` ADD `group_key` text;--> statement-breakpoint
CREATE INDEX `jobs_leased_group_idx` ON `jobs` (`queue`,`group_key`) WHERE status = 'leased';--> statement-breakpoint
ALTER TABLE `queues` ADD `concurrency` integer;--> statement-breakpoint
ALTER TABLE `queues` ADD `group_concurrency` integer;
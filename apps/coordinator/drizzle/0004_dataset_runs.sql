CREATE TABLE `dataset_run_stages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`stage` text NOT NULL,
	`state` text NOT NULL,
	`at` integer NOT NULL,
	`note` text,
	FOREIGN KEY (`run_id`) REFERENCES `dataset_runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `dataset_run_stages_run_idx` ON `dataset_run_stages` (`run_id`,`id`);--> statement-breakpoint
CREATE TABLE `dataset_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dataset_id` integer NOT NULL,
	`job_id` integer NOT NULL,
	`attempt` integer NOT NULL,
	`worker_id` text NOT NULL,
	`state` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`note` text,
	`diagnostics` text,
	`uploaded` text DEFAULT '[]' NOT NULL,
	`deleted` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `dataset_runs_job_attempt_idx` ON `dataset_runs` (`job_id`,`attempt`);--> statement-breakpoint
CREATE INDEX `dataset_runs_dataset_idx` ON `dataset_runs` (`dataset_id`,`id`);--> statement-breakpoint
ALTER TABLE `datasets` DROP COLUMN `status`;
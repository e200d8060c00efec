CREATE TABLE "reconciliation_items" (
	"run_id" text NOT NULL,
	"mer_order_id" text NOT NULL,
	"kind" text,
	"ours" jsonb,
	"theirs" jsonb,
	"note" text,
	"ours_paid" integer DEFAULT 0 NOT NULL,
	"ours_refunded" integer DEFAULT 0 NOT NULL,
	"ums_paid" integer DEFAULT 0 NOT NULL,
	"ums_refunded" integer DEFAULT 0 NOT NULL,
	"checked_at" timestamp with time zone,
	CONSTRAINT "reconciliation_items_run_id_mer_order_id_pk" PRIMARY KEY("run_id","mer_order_id")
);
--> statement-breakpoint
CREATE TABLE "reconciliation_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"date" text NOT NULL,
	"merchant_id" text NOT NULL,
	"trigger" text NOT NULL,
	"status" text NOT NULL,
	"actor" text NOT NULL,
	"listed_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "reconciliation_items" ADD CONSTRAINT "reconciliation_items_run_id_reconciliation_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."reconciliation_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reconciliation_items_kind_idx" ON "reconciliation_items" USING btree ("run_id","kind","mer_order_id");--> statement-breakpoint
CREATE INDEX "reconciliation_runs_started_idx" ON "reconciliation_runs" USING btree ("started_at","id");--> statement-breakpoint
CREATE INDEX "reconciliation_runs_running_idx" ON "reconciliation_runs" USING btree ("lease_until") WHERE "reconciliation_runs"."status" = 'RUNNING';--> statement-breakpoint
CREATE UNIQUE INDEX "reconciliation_runs_daily_idx" ON "reconciliation_runs" USING btree ("date","merchant_id") WHERE "reconciliation_runs"."trigger" = 'daily';--> statement-breakpoint
CREATE INDEX "payment_events_at_idx" ON "payment_events" USING btree ("at");
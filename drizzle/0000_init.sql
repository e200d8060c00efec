CREATE TABLE "idempotency_keys" (
	"key" text NOT NULL,
	"operation" text NOT NULL,
	"request_hash" text NOT NULL,
	"response" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_key_operation_pk" PRIMARY KEY("key","operation")
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "notifications_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"content_type" text,
	"raw_body" text NOT NULL,
	"verified" boolean NOT NULL,
	"key_index" integer,
	"notify_id" text,
	"mer_order_id" text,
	"status" text,
	"dedupe_key" text,
	"outcome" text NOT NULL,
	"reason" text,
	"payment_event_id" bigint
);
--> statement-breakpoint
CREATE TABLE "payment_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "payment_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"mer_order_id" text NOT NULL,
	"source" text NOT NULL,
	"previous_status" text,
	"status" text NOT NULL,
	"version" integer NOT NULL,
	"reason" text,
	"notification_id" bigint,
	"payload" jsonb,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"mer_order_id" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"channel" text,
	"total_amount" integer NOT NULL,
	"mid" text NOT NULL,
	"tid" text NOT NULL,
	"inst_mid" text,
	"description" text,
	"target_order_id" text,
	"target_sys" text,
	"seq_id" text,
	"pay_time" timestamp with time zone,
	"settle_date" text,
	"buyer_pay_amount" integer,
	"receipt_amount" integer,
	"refunded_amount" integer DEFAULT 0 NOT NULL,
	"needs_review" boolean DEFAULT false NOT NULL,
	"review_reason" text,
	"expire_time" timestamp with time zone,
	"next_sync_at" timestamp with time zone,
	"sync_attempts" integer DEFAULT 0 NOT NULL,
	"last_event_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"refund_order_id" text PRIMARY KEY NOT NULL,
	"mer_order_id" text NOT NULL,
	"refund_amount" integer NOT NULL,
	"status" text NOT NULL,
	"refund_target_order_id" text,
	"description" text,
	"next_sync_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "payment_events" ADD CONSTRAINT "payment_events_mer_order_id_payments_mer_order_id_fk" FOREIGN KEY ("mer_order_id") REFERENCES "public"."payments"("mer_order_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_mer_order_id_payments_mer_order_id_fk" FOREIGN KEY ("mer_order_id") REFERENCES "public"."payments"("mer_order_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_dedupe_key_idx" ON "notifications" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "notifications_notify_id_idx" ON "notifications" USING btree ("notify_id");--> statement-breakpoint
CREATE INDEX "notifications_order_idx" ON "notifications" USING btree ("mer_order_id","received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "payment_events_order_version_idx" ON "payment_events" USING btree ("mer_order_id","version");--> statement-breakpoint
CREATE INDEX "payments_created_idx" ON "payments" USING btree ("created_at","mer_order_id");--> statement-breakpoint
CREATE INDEX "payments_status_created_idx" ON "payments" USING btree ("status","created_at","mer_order_id");--> statement-breakpoint
CREATE INDEX "payments_mid_created_idx" ON "payments" USING btree ("mid","created_at","mer_order_id");--> statement-breakpoint
CREATE INDEX "payments_next_sync_idx" ON "payments" USING btree ("next_sync_at") WHERE "payments"."next_sync_at" is not null;--> statement-breakpoint
CREATE INDEX "payments_review_idx" ON "payments" USING btree ("mer_order_id") WHERE "payments"."needs_review";--> statement-breakpoint
CREATE INDEX "refunds_order_idx" ON "refunds" USING btree ("mer_order_id","created_at");--> statement-breakpoint
CREATE INDEX "refunds_next_sync_idx" ON "refunds" USING btree ("next_sync_at") WHERE "refunds"."next_sync_at" is not null;
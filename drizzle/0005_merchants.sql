CREATE TABLE "merchants" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text,
	"mid" text NOT NULL,
	"tid" text NOT NULL,
	"source_id" text NOT NULL,
	"inst_mid" text,
	"app_id" text NOT NULL,
	"auth_mode" text DEFAULT 'body-sig' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"secrets" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "merchant_id" text;--> statement-breakpoint
ALTER TABLE "payment_events" ADD COLUMN "actor" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "merchant_id" text DEFAULT 'default' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "merchants_mid_tid_idx" ON "merchants" USING btree ("mid","tid");--> statement-breakpoint
CREATE INDEX "payments_merchant_created_idx" ON "payments" USING btree ("merchant_id","created_at","mer_order_id");
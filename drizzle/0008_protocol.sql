ALTER TABLE "payments" ADD COLUMN "attached_data" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "src_reserve" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "metadata" jsonb;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "secure_transaction" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "secure_status" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "completed_amount" integer;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "division_flag" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "platform_amount" integer;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "sub_orders" jsonb;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "platform_amount" integer;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "sub_orders" jsonb;
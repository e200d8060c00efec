ALTER TABLE "payments" ADD COLUMN "attached_data" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "src_reserve" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "metadata" jsonb;
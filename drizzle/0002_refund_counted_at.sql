ALTER TABLE "refunds" ADD COLUMN "counted_at" timestamp with time zone;--> statement-breakpoint
-- Refunds stored as SUCCESS before this column existed were counted when they became SUCCESS.
UPDATE "refunds" SET "counted_at" = "updated_at" WHERE "status" = 'SUCCESS';

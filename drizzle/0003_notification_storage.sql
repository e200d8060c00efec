ALTER TABLE "notifications" ADD COLUMN "body_hash" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "received_count" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "last_received_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "stripped_at" timestamp with time zone;--> statement-breakpoint
-- Existing rows: the hash of the body as stored (whole, since nothing was cut before), each row received once when it was.
UPDATE "notifications" SET "body_hash" = encode(sha256(convert_to("raw_body", 'UTF8')), 'hex'), "last_received_at" = "received_at";--> statement-breakpoint
ALTER TABLE "notifications" ALTER COLUMN "body_hash" SET NOT NULL;--> statement-breakpoint
-- Copies of one rejected or duplicate body become one row that counts them (the oldest, which no event names: only first authentic copies are named).
WITH "groups" AS (
  SELECT "body_hash", min("id") AS "keep", count(*) AS "copies", max("received_at") AS "last"
  FROM "notifications" WHERE "dedupe_key" IS NULL GROUP BY "body_hash" HAVING count(*) > 1
), "counted" AS (
  UPDATE "notifications" n SET "received_count" = g."copies", "last_received_at" = g."last"
  FROM "groups" g WHERE n."id" = g."keep"
)
DELETE FROM "notifications" n USING "groups" g
WHERE n."body_hash" = g."body_hash" AND n."dedupe_key" IS NULL AND n."id" <> g."keep";--> statement-breakpoint
-- Rejected bodies are kept cut short from now on (ledger/rows.ts: 512 bytes of body, 256 of diagnosis); so are the old ones.
-- ASCII text (form bodies are) is cut at the byte; other text at a character count that fits.
UPDATE "notifications" SET "raw_body" = CASE WHEN "raw_body" ~ '^[\x01-\x7f]*$' THEN left("raw_body", 512) ELSE left("raw_body", 128) END
WHERE "outcome" = 'rejected' AND octet_length("raw_body") > 512;--> statement-breakpoint
UPDATE "notifications" SET "diagnosis" = CASE WHEN "diagnosis" ~ '^[\x01-\x7f]*$' THEN left("diagnosis", 256) ELSE left("diagnosis", 64) END
WHERE "outcome" = 'rejected' AND octet_length("diagnosis") > 256;--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_repeat_body_idx" ON "notifications" USING btree ("body_hash") WHERE "notifications"."dedupe_key" is null;--> statement-breakpoint
CREATE INDEX "notifications_unstripped_idx" ON "notifications" USING btree ("received_at") WHERE "notifications"."stripped_at" is null;

CREATE TABLE "notification_repeats" (
	"notification_id" bigint PRIMARY KEY NOT NULL,
	"repeats" integer NOT NULL,
	"last_received_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "body_hash" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "stripped_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notification_repeats" ADD CONSTRAINT "notification_repeats_notification_id_notifications_id_fk" FOREIGN KEY ("notification_id") REFERENCES "public"."notifications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Existing rows: the hash of the body as stored (whole: nothing was cut before), base64url like ledger/rows.ts bodyHash.
UPDATE "notifications" SET "body_hash" = translate(rtrim(encode(sha256(convert_to("raw_body", 'UTF8')), 'base64'), '='), '+/', '-_');--> statement-breakpoint
ALTER TABLE "notifications" ALTER COLUMN "body_hash" SET NOT NULL;--> statement-breakpoint
-- Copies of one rejected or duplicate body become repeats of the oldest (no event names a copy:
-- only first authentic copies, which have a dedupe key, are ever named).
WITH "groups" AS (
  SELECT "body_hash", min("id") AS "keep", count(*) - 1 AS "repeats", max("received_at") AS "last"
  FROM "notifications" WHERE "dedupe_key" IS NULL GROUP BY "body_hash" HAVING count(*) > 1
), "counted" AS (
  INSERT INTO "notification_repeats" ("notification_id", "repeats", "last_received_at")
  SELECT "keep", "repeats", "last" FROM "groups"
)
DELETE FROM "notifications" n USING "groups" g
WHERE n."body_hash" = g."body_hash" AND n."dedupe_key" IS NULL AND n."id" <> g."keep";--> statement-breakpoint
-- Rejected bodies are kept cut short from now on (ledger/rows.ts: 128 bytes of body, 96 of
-- diagnosis, 64 of content type); so are the old ones. ASCII text (form bodies are) is cut at
-- the byte, other text at a character count that fits.
UPDATE "notifications" SET "raw_body" = CASE WHEN "raw_body" ~ '^[\x01-\x7f]*$' THEN left("raw_body", 128) ELSE left("raw_body", 32) END
WHERE "outcome" = 'rejected' AND octet_length("raw_body") > 128;--> statement-breakpoint
UPDATE "notifications" SET "diagnosis" = CASE WHEN "diagnosis" ~ '^[\x01-\x7f]*$' THEN left("diagnosis", 96) ELSE left("diagnosis", 24) END
WHERE "outcome" = 'rejected' AND octet_length("diagnosis") > 96;--> statement-breakpoint
UPDATE "notifications" SET "content_type" = CASE WHEN "content_type" ~ '^[\x01-\x7f]*$' THEN left("content_type", 64) ELSE left("content_type", 16) END
WHERE octet_length("content_type") > 64;--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_repeat_body_idx" ON "notifications" USING btree ("body_hash") WHERE "notifications"."dedupe_key" is null;--> statement-breakpoint
CREATE INDEX "notifications_unstripped_idx" ON "notifications" USING btree ("received_at") WHERE "notifications"."stripped_at" is null;

ALTER TABLE "transfers" DROP CONSTRAINT "transfers_org_id_organisations_id_fk";
--> statement-breakpoint
DROP INDEX "transfers_org_created_idx";--> statement-breakpoint
DROP INDEX "transfers_org_reverses_key";--> statement-breakpoint
CREATE INDEX "transfers_created_brin" ON "transfers" USING brin ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "transfers_org_reverses_key" ON "transfers" USING btree ("org_id","reverses_transfer_id") WHERE "transfers"."reverses_transfer_id" IS NOT NULL;
CREATE TABLE "expiry_notices" (
	"org_id" bigint NOT NULL,
	"lot_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"member_id" bigint NOT NULL,
	"claimed_by" text NOT NULL,
	"claimed_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text,
	CONSTRAINT "expiry_notices_org_id_lot_id_kind_pk" PRIMARY KEY("org_id","lot_id","kind"),
	CONSTRAINT "expiry_notices_lease" CHECK ("expiry_notices"."lease_until" >= "expiry_notices"."claimed_at")
);
--> statement-breakpoint
ALTER TABLE "allowance_rules" ADD COLUMN "expires_after_days" integer;--> statement-breakpoint
ALTER TABLE "allowance_rules" ADD COLUMN "ends_on" date;--> statement-breakpoint
ALTER TABLE "organisations" ADD COLUMN "default_expiry_days" integer;--> statement-breakpoint
CREATE INDEX "expiry_notices_member_idx" ON "expiry_notices" USING btree ("org_id","member_id");--> statement-breakpoint
ALTER TABLE "allowance_rules" ADD CONSTRAINT "allowance_rules_expiry" CHECK (("allowance_rules"."expires_after_days" IS NULL OR ("allowance_rules"."expires_after_days" BETWEEN 1 AND 1830 AND "allowance_rules"."ends_on" IS NULL)));--> statement-breakpoint
ALTER TABLE "organisations" ADD CONSTRAINT "organisations_default_expiry" CHECK ("organisations"."default_expiry_days" BETWEEN 1 AND 1830);
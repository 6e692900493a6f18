CREATE TABLE "usage_batches" (
	"org_id" bigint NOT NULL,
	"digest" text NOT NULL,
	"events" integer NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	CONSTRAINT "usage_batches_org_id_digest_pk" PRIMARY KEY("org_id","digest")
);
--> statement-breakpoint
ALTER TABLE "usage_batches" ADD CONSTRAINT "usage_batches_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
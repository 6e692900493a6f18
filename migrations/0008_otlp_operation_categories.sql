CREATE TABLE "operation_categories" (
	"org_id" bigint NOT NULL,
	"operation" text NOT NULL,
	"category" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operation_categories_org_id_operation_pk" PRIMARY KEY("org_id","operation")
);
--> statement-breakpoint
ALTER TABLE "operation_categories" ADD CONSTRAINT "operation_categories_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
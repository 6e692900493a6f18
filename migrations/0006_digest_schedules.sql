CREATE TABLE "digest_deliveries" (
	"org_id" bigint NOT NULL,
	"run_key" text NOT NULL,
	"schedule_id" bigint NOT NULL,
	"status" text NOT NULL,
	"attempts" integer NOT NULL,
	"location" jsonb,
	"detail" text,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "digest_deliveries_org_id_run_key_pk" PRIMARY KEY("org_id","run_key")
);
--> statement-breakpoint
CREATE TABLE "digest_schedules" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "digest_schedules_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"platform" text NOT NULL,
	"destination" jsonb NOT NULL,
	"destination_key" text NOT NULL,
	"cron" text NOT NULL,
	"time_zone" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_by" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"failures_in_row" integer DEFAULT 0 NOT NULL,
	"last_failure" text,
	CONSTRAINT "digest_schedules_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "digest_schedules_destination_key" UNIQUE("org_id","destination_key")
);
--> statement-breakpoint
ALTER TABLE "digest_deliveries" ADD CONSTRAINT "digest_deliveries_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "digest_schedules" ADD CONSTRAINT "digest_schedules_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
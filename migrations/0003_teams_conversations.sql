CREATE TABLE "teams_conversations" (
	"org_id" bigint NOT NULL,
	"conversation_id" text NOT NULL,
	"conversation_type" text NOT NULL,
	"tenant_id" text NOT NULL,
	"reference" jsonb NOT NULL,
	"service_url" text NOT NULL,
	"member_aad_object_id" text,
	"team_id" text,
	"reachable" boolean DEFAULT true NOT NULL,
	"unreachable_reason" text,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "teams_conversations_org_id_conversation_id_pk" PRIMARY KEY("org_id","conversation_id"),
	CONSTRAINT "teams_conversations_type" CHECK ("teams_conversations"."conversation_type" IN ('personal', 'groupChat', 'channel'))
);
--> statement-breakpoint
CREATE TABLE "teams_processed_activities" (
	"org_id" bigint NOT NULL,
	"activity_key" text NOT NULL,
	"processed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "teams_processed_activities_org_id_activity_key_pk" PRIMARY KEY("org_id","activity_key")
);
--> statement-breakpoint
ALTER TABLE "teams_conversations" ADD CONSTRAINT "teams_conversations_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teams_processed_activities" ADD CONSTRAINT "teams_processed_activities_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "teams_conversations_personal_idx" ON "teams_conversations" USING btree ("org_id","member_aad_object_id","conversation_type");--> statement-breakpoint
CREATE INDEX "teams_processed_activities_processed_at_index" ON "teams_processed_activities" USING btree ("processed_at");
CREATE TABLE "slack_installations" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "slack_installations_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"enterprise_id" text,
	"team_id" text,
	"is_enterprise_install" boolean NOT NULL,
	"name" text NOT NULL,
	"app_id" text,
	"bot_user_id" text NOT NULL,
	"bot_id" text,
	"scopes" text NOT NULL,
	"installer_user_id" text,
	"key_id" text NOT NULL,
	"secret" "bytea" NOT NULL,
	"installed_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "slack_installations_enterprise_team_key" UNIQUE NULLS NOT DISTINCT("enterprise_id","team_id"),
	CONSTRAINT "slack_installations_scope" CHECK (("slack_installations"."is_enterprise_install" AND "slack_installations"."enterprise_id" IS NOT NULL AND "slack_installations"."team_id" IS NULL)
        OR (NOT "slack_installations"."is_enterprise_install" AND "slack_installations"."team_id" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "slack_oauth_states_used" (
	"state_hash" text PRIMARY KEY NOT NULL,
	"used_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "slack_installations_team_idx" ON "slack_installations" USING btree ("team_id");
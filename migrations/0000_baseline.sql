CREATE TABLE "allowance_rules" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "allowance_rules_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"role" text,
	"member_id" bigint,
	"amount" bigint NOT NULL,
	"period" text NOT NULL,
	"rollover_cap_tokens" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"removed_at" timestamp with time zone,
	CONSTRAINT "allowance_rules_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "allowance_rules_target" CHECK (("allowance_rules"."role" IS NULL) <> ("allowance_rules"."member_id" IS NULL)),
	CONSTRAINT "allowance_rules_amount" CHECK ("allowance_rules"."amount" BETWEEN 1 AND 1000000000000),
	CONSTRAINT "allowance_rules_cap" CHECK ("allowance_rules"."rollover_cap_tokens" IS NULL OR "allowance_rules"."rollover_cap_tokens" >= 0)
);
--> statement-breakpoint
CREATE TABLE "approval_messages" (
	"org_id" bigint NOT NULL,
	"request_id" bigint NOT NULL,
	"member_id" bigint NOT NULL,
	"platform" text NOT NULL,
	"ref" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "approval_messages_org_id_request_id_member_id_platform_pk" PRIMARY KEY("org_id","request_id","member_id","platform")
);
--> statement-breakpoint
CREATE TABLE "topup_requests" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "topup_requests_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"requester_id" bigint NOT NULL,
	"amount" bigint NOT NULL,
	"reason" text DEFAULT '' NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"approver_id" bigint,
	"request_key" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by_id" bigint,
	"decision_note" text,
	"transfer_id" bigint,
	CONSTRAINT "topup_requests_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "topup_requests_org_key" UNIQUE("org_id","request_key"),
	CONSTRAINT "topup_requests_amount_range" CHECK ("topup_requests"."amount" BETWEEN 1 AND 1000000000000),
	CONSTRAINT "topup_requests_state" CHECK ("topup_requests"."state" IN ('pending', 'approved', 'denied', 'cancelled', 'expired')),
	CONSTRAINT "topup_requests_decided" CHECK (("topup_requests"."state" = 'pending') = ("topup_requests"."decided_at" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "inbound_deliveries" (
	"org_id" bigint NOT NULL,
	"source_key" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbound_deliveries_org_id_source_key_pk" PRIMARY KEY("org_id","source_key")
);
--> statement-breakpoint
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
CREATE TABLE "scheduled_runs" (
	"run_key" text PRIMARY KEY NOT NULL,
	"org_id" bigint,
	"claimed_by" text NOT NULL,
	"claimed_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text
);
--> statement-breakpoint
CREATE TABLE "accounts" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "accounts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" text NOT NULL,
	"member_id" bigint,
	"balance" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "accounts_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "accounts_org_kind_member_key" UNIQUE NULLS NOT DISTINCT("org_id","kind","member_id"),
	CONSTRAINT "accounts_kind" CHECK ("accounts"."kind" IN ('treasury', 'budget', 'wallet', 'usage', 'expired')),
	CONSTRAINT "accounts_owner" CHECK (("accounts"."kind" IN ('budget', 'wallet')) = ("accounts"."member_id" IS NOT NULL)),
	CONSTRAINT "accounts_no_overdraft" CHECK ("accounts"."kind" IN ('treasury', 'wallet') OR "accounts"."balance" >= 0)
);
--> statement-breakpoint
CREATE TABLE "transfers" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "transfers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"operation_key" text NOT NULL,
	"leg" smallint NOT NULL,
	"request_hash" text NOT NULL,
	"debit_account_id" bigint NOT NULL,
	"credit_account_id" bigint NOT NULL,
	"amount" bigint NOT NULL,
	"code" text NOT NULL,
	"actor_member_id" bigint,
	"platform" text NOT NULL,
	"memo" text DEFAULT '' NOT NULL,
	"reverses_transfer_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "transfers_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "transfers_org_operation_leg_key" UNIQUE("org_id","operation_key","leg"),
	CONSTRAINT "transfers_amount_range" CHECK ("transfers"."amount" BETWEEN 1 AND 1000000000000),
	CONSTRAINT "transfers_accounts_differ" CHECK ("transfers"."debit_account_id" <> "transfers"."credit_account_id"),
	CONSTRAINT "transfers_code" CHECK ("transfers"."code" IN ('issue', 'allocate', 'grant', 'topup', 'usage', 'expire', 'reversal')),
	CONSTRAINT "transfers_reversal_target" CHECK (("transfers"."code" = 'reversal') = ("transfers"."reverses_transfer_id" IS NOT NULL)),
	CONSTRAINT "transfers_key_length" CHECK (length("transfers"."operation_key") BETWEEN 1 AND 255)
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_member_id" bigint,
	"platform" text NOT NULL,
	"action" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "audit_log_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "member_identities" (
	"org_id" bigint NOT NULL,
	"platform" text NOT NULL,
	"external_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"member_id" bigint NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "member_identities_org_id_platform_external_id_pk" PRIMARY KEY("org_id","platform","external_id")
);
--> statement-breakpoint
CREATE TABLE "members" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "members_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"display_name" text NOT NULL,
	"email" text,
	"time_zone" text,
	"role" text DEFAULT 'member' NOT NULL,
	"manager_id" bigint,
	"is_bot" boolean DEFAULT false NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"leaderboard_opt_out" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "members_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "members_email_lower" CHECK ("members"."email" = lower("members"."email")),
	CONSTRAINT "members_not_own_manager" CHECK ("members"."manager_id" IS NULL OR "members"."manager_id" <> "members"."id")
);
--> statement-breakpoint
CREATE TABLE "organisations" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "organisations_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organisations_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"platform" text NOT NULL,
	"external_id" text NOT NULL,
	"org_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspaces_platform_external_id_pk" PRIMARY KEY("platform","external_id")
);
--> statement-breakpoint
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
CREATE TABLE "api_keys" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "api_keys_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"created_by_member_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "category_weights" (
	"org_id" bigint NOT NULL,
	"category" text NOT NULL,
	"weight_thousandths" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "category_weights_org_id_category_pk" PRIMARY KEY("org_id","category"),
	CONSTRAINT "category_weights_range" CHECK ("category_weights"."weight_thousandths" BETWEEN 0 AND 1000000)
);
--> statement-breakpoint
CREATE TABLE "leaderboard_settings" (
	"org_id" bigint PRIMARY KEY NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"hide_money" boolean DEFAULT false NOT NULL,
	"top_n" integer DEFAULT 10 NOT NULL,
	"default_window" text DEFAULT 'week' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "leaderboard_settings_top_n" CHECK ("leaderboard_settings"."top_n" BETWEEN 1 AND 50),
	CONSTRAINT "leaderboard_settings_window" CHECK ("leaderboard_settings"."default_window" IN ('week', 'month', 'quarter'))
);
--> statement-breakpoint
CREATE TABLE "low_balance_alerts" (
	"org_id" bigint NOT NULL,
	"member_id" bigint NOT NULL,
	"period" text NOT NULL,
	"threshold" text NOT NULL,
	"balance" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "low_balance_alerts_org_id_member_id_period_threshold_pk" PRIMARY KEY("org_id","member_id","period","threshold")
);
--> statement-breakpoint
CREATE TABLE "model_price_seeds" (
	"model" text NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"input_micros_per_million" bigint NOT NULL,
	"output_micros_per_million" bigint NOT NULL,
	"source" text NOT NULL,
	CONSTRAINT "model_price_seeds_model_effective_from_pk" PRIMARY KEY("model","effective_from")
);
--> statement-breakpoint
CREATE TABLE "model_prices" (
	"org_id" bigint NOT NULL,
	"model" text NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"input_micros_per_million" bigint NOT NULL,
	"output_micros_per_million" bigint NOT NULL,
	"created_by_member_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_prices_org_id_model_effective_from_pk" PRIMARY KEY("org_id","model","effective_from"),
	CONSTRAINT "model_prices_range" CHECK ("model_prices"."input_micros_per_million" BETWEEN 0 AND 1000000000000 AND "model_prices"."output_micros_per_million" BETWEEN 0 AND 1000000000000)
);
--> statement-breakpoint
CREATE TABLE "usage_daily_rollups" (
	"org_id" bigint NOT NULL,
	"member_id" bigint NOT NULL,
	"day" date NOT NULL,
	"model" text NOT NULL,
	"category" text NOT NULL,
	"events" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"tokens" bigint NOT NULL,
	"value" bigint NOT NULL,
	"cost_micros" bigint NOT NULL,
	CONSTRAINT "usage_daily_rollups_org_id_member_id_day_model_category_pk" PRIMARY KEY("org_id","member_id","day","model","category")
);
--> statement-breakpoint
CREATE TABLE "usage_events" (
	"org_id" bigint NOT NULL,
	"event_id" text NOT NULL,
	"member_id" bigint NOT NULL,
	"model" text NOT NULL,
	"category" text NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"event_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"cost_micros" bigint NOT NULL,
	"value" bigint NOT NULL,
	"content_hash" text NOT NULL,
	"raw_hash" text,
	"transfer_id" bigint NOT NULL,
	CONSTRAINT "usage_events_org_id_event_id_pk" PRIMARY KEY("org_id","event_id"),
	CONSTRAINT "usage_events_id_length" CHECK (length("usage_events"."event_id") BETWEEN 1 AND 255),
	CONSTRAINT "usage_events_tokens" CHECK ("usage_events"."input_tokens" >= 0 AND "usage_events"."output_tokens" >= 0),
	CONSTRAINT "usage_events_cost" CHECK ("usage_events"."cost_micros" >= 0 AND "usage_events"."value" >= 0)
);
--> statement-breakpoint
CREATE TABLE "usage_period_totals" (
	"org_id" bigint NOT NULL,
	"period" text NOT NULL,
	"period_start" date NOT NULL,
	"member_id" bigint NOT NULL,
	"events" bigint NOT NULL,
	"tokens" bigint NOT NULL,
	"value" bigint NOT NULL,
	"cost_micros" bigint NOT NULL,
	CONSTRAINT "usage_period_totals_org_id_period_period_start_member_id_pk" PRIMARY KEY("org_id","period","period_start","member_id"),
	CONSTRAINT "usage_period_totals_period" CHECK ("usage_period_totals"."period" IN ('week', 'month', 'quarter'))
);
--> statement-breakpoint
ALTER TABLE "allowance_rules" ADD CONSTRAINT "allowance_rules_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approval_messages" ADD CONSTRAINT "approval_messages_org_id_request_id_topup_requests_org_id_id_fk" FOREIGN KEY ("org_id","request_id") REFERENCES "public"."topup_requests"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topup_requests" ADD CONSTRAINT "topup_requests_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topup_requests" ADD CONSTRAINT "topup_requests_org_id_requester_id_members_org_id_id_fk" FOREIGN KEY ("org_id","requester_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topup_requests" ADD CONSTRAINT "topup_requests_org_id_approver_id_members_org_id_id_fk" FOREIGN KEY ("org_id","approver_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbound_deliveries" ADD CONSTRAINT "inbound_deliveries_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "digest_deliveries" ADD CONSTRAINT "digest_deliveries_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "digest_schedules" ADD CONSTRAINT "digest_schedules_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_org_id_debit_account_id_accounts_org_id_id_fk" FOREIGN KEY ("org_id","debit_account_id") REFERENCES "public"."accounts"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_org_id_credit_account_id_accounts_org_id_id_fk" FOREIGN KEY ("org_id","credit_account_id") REFERENCES "public"."accounts"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_org_id_reverses_transfer_id_transfers_org_id_id_fk" FOREIGN KEY ("org_id","reverses_transfer_id") REFERENCES "public"."transfers"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "member_identities" ADD CONSTRAINT "member_identities_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_org_id_manager_id_members_org_id_id_fk" FOREIGN KEY ("org_id","manager_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teams_conversations" ADD CONSTRAINT "teams_conversations_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teams_processed_activities" ADD CONSTRAINT "teams_processed_activities_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "category_weights" ADD CONSTRAINT "category_weights_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leaderboard_settings" ADD CONSTRAINT "leaderboard_settings_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "low_balance_alerts" ADD CONSTRAINT "low_balance_alerts_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_prices" ADD CONSTRAINT "model_prices_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "allowance_rules_org_id_member_id_index" ON "allowance_rules" USING btree ("org_id","member_id");--> statement-breakpoint
CREATE INDEX "topup_requests_org_state_expires_idx" ON "topup_requests" USING btree ("org_id","state","expires_at");--> statement-breakpoint
CREATE INDEX "topup_requests_org_requester_idx" ON "topup_requests" USING btree ("org_id","requester_id","id");--> statement-breakpoint
CREATE INDEX "topup_requests_org_approver_idx" ON "topup_requests" USING btree ("org_id","approver_id","state");--> statement-breakpoint
CREATE INDEX "topup_requests_state_expires_idx" ON "topup_requests" USING btree ("state","expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "transfers_org_reverses_key" ON "transfers" USING btree ("org_id","reverses_transfer_id") WHERE "transfers"."reverses_transfer_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "transfers_org_debit_idx" ON "transfers" USING btree ("org_id","debit_account_id","id");--> statement-breakpoint
CREATE INDEX "transfers_org_credit_idx" ON "transfers" USING btree ("org_id","credit_account_id","id");--> statement-breakpoint
CREATE INDEX "transfers_created_brin" ON "transfers" USING brin ("created_at");--> statement-breakpoint
CREATE INDEX "member_identities_org_id_member_id_index" ON "member_identities" USING btree ("org_id","member_id");--> statement-breakpoint
CREATE UNIQUE INDEX "members_org_email_key" ON "members" USING btree ("org_id","email");--> statement-breakpoint
CREATE INDEX "members_org_id_manager_id_index" ON "members" USING btree ("org_id","manager_id");--> statement-breakpoint
CREATE INDEX "workspaces_org_id_index" ON "workspaces" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "teams_conversations_personal_idx" ON "teams_conversations" USING btree ("org_id","member_aad_object_id","conversation_type");--> statement-breakpoint
CREATE INDEX "teams_processed_activities_processed_at_index" ON "teams_processed_activities" USING btree ("processed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_org_live_name_key" ON "api_keys" USING btree ("org_id","name") WHERE "api_keys"."revoked_at" IS NULL;
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
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "category_weights" ADD CONSTRAINT "category_weights_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leaderboard_settings" ADD CONSTRAINT "leaderboard_settings_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "low_balance_alerts" ADD CONSTRAINT "low_balance_alerts_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_prices" ADD CONSTRAINT "model_prices_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_daily_rollups" ADD CONSTRAINT "usage_daily_rollups_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_events" ADD CONSTRAINT "usage_events_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_org_live_name_key" ON "api_keys" USING btree ("org_id","name") WHERE "api_keys"."revoked_at" IS NULL;
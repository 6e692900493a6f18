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
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_org_id_debit_account_id_accounts_org_id_id_fk" FOREIGN KEY ("org_id","debit_account_id") REFERENCES "public"."accounts"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_org_id_credit_account_id_accounts_org_id_id_fk" FOREIGN KEY ("org_id","credit_account_id") REFERENCES "public"."accounts"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_org_id_reverses_transfer_id_transfers_org_id_id_fk" FOREIGN KEY ("org_id","reverses_transfer_id") REFERENCES "public"."transfers"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "member_identities" ADD CONSTRAINT "member_identities_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_org_id_manager_id_members_org_id_id_fk" FOREIGN KEY ("org_id","manager_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "transfers_org_reverses_key" ON "transfers" USING btree ("org_id","reverses_transfer_id");--> statement-breakpoint
CREATE INDEX "transfers_org_debit_idx" ON "transfers" USING btree ("org_id","debit_account_id","id");--> statement-breakpoint
CREATE INDEX "transfers_org_credit_idx" ON "transfers" USING btree ("org_id","credit_account_id","id");--> statement-breakpoint
CREATE INDEX "transfers_org_created_idx" ON "transfers" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "member_identities_org_id_member_id_index" ON "member_identities" USING btree ("org_id","member_id");--> statement-breakpoint
CREATE UNIQUE INDEX "members_org_email_key" ON "members" USING btree ("org_id","email");--> statement-breakpoint
CREATE INDEX "members_org_id_manager_id_index" ON "members" USING btree ("org_id","manager_id");--> statement-breakpoint
CREATE INDEX "workspaces_org_id_index" ON "workspaces" USING btree ("org_id");
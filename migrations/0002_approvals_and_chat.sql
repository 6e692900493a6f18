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
ALTER TABLE "allowance_rules" ADD CONSTRAINT "allowance_rules_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approval_messages" ADD CONSTRAINT "approval_messages_org_id_request_id_topup_requests_org_id_id_fk" FOREIGN KEY ("org_id","request_id") REFERENCES "public"."topup_requests"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topup_requests" ADD CONSTRAINT "topup_requests_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topup_requests" ADD CONSTRAINT "topup_requests_org_id_requester_id_members_org_id_id_fk" FOREIGN KEY ("org_id","requester_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topup_requests" ADD CONSTRAINT "topup_requests_org_id_approver_id_members_org_id_id_fk" FOREIGN KEY ("org_id","approver_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbound_deliveries" ADD CONSTRAINT "inbound_deliveries_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "allowance_rules_org_id_member_id_index" ON "allowance_rules" USING btree ("org_id","member_id");--> statement-breakpoint
CREATE INDEX "topup_requests_org_state_expires_idx" ON "topup_requests" USING btree ("org_id","state","expires_at");--> statement-breakpoint
CREATE INDEX "topup_requests_org_requester_idx" ON "topup_requests" USING btree ("org_id","requester_id","id");--> statement-breakpoint
CREATE INDEX "topup_requests_org_approver_idx" ON "topup_requests" USING btree ("org_id","approver_id","state");--> statement-breakpoint
CREATE INDEX "topup_requests_state_expires_idx" ON "topup_requests" USING btree ("state","expires_at");
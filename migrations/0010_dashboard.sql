CREATE TABLE "dashboard_sessions" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "dashboard_sessions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"token_hash" text NOT NULL,
	"member_id" bigint NOT NULL,
	"csrf_token" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	CONSTRAINT "dashboard_sessions_org_id_id_pk" PRIMARY KEY("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "sign_in_links" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "sign_in_links_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"token_hash" text NOT NULL,
	"member_id" bigint NOT NULL,
	"issued_via" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	CONSTRAINT "sign_in_links_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "sign_in_links_window" CHECK ("sign_in_links"."expires_at" > "sign_in_links"."created_at")
);
--> statement-breakpoint
CREATE TABLE "usage_org_daily_rollups" (
	"org_id" bigint NOT NULL,
	"day" date NOT NULL,
	"model" text NOT NULL,
	"category" text NOT NULL,
	"events" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"tokens" bigint NOT NULL,
	"value" bigint NOT NULL,
	"cost_micros" bigint NOT NULL,
	CONSTRAINT "usage_org_daily_rollups_org_id_day_model_category_pk" PRIMARY KEY("org_id","day","model","category")
);
--> statement-breakpoint
ALTER TABLE "dashboard_sessions" ADD CONSTRAINT "dashboard_sessions_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sign_in_links" ADD CONSTRAINT "sign_in_links_org_id_member_id_members_org_id_id_fk" FOREIGN KEY ("org_id","member_id") REFERENCES "public"."members"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "dashboard_sessions_token_hash_key" ON "dashboard_sessions" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "dashboard_sessions_expires_idx" ON "dashboard_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sign_in_links_token_hash_key" ON "sign_in_links" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "sign_in_links_expires_idx" ON "sign_in_links" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "transfers_org_code_idx" ON "transfers" USING btree ("org_id","code","id") WHERE "transfers"."code" <> 'usage';--> statement-breakpoint
-- usage_org_daily_rollups (src/usage/org-rollups.tables.ts) is the sum of usage_daily_rollups over an
-- organisation's members, per local day, model and category. Statement-level triggers with transition
-- tables keep it in the same transaction as whatever writes the member rows: one grouped upsert per
-- statement (a few dozen rows per batch of events), never one per row. allot_ingest_usage's
-- INSERT … ON CONFLICT DO UPDATE fires the INSERT trigger for the rows it inserted and the UPDATE
-- trigger for those it updated. Within an organisation, ingestion already holds the `usage` account's
-- lock when it writes rollups, so batches do not wait on each other here in any new order.
ALTER TABLE "usage_org_daily_rollups" SET (fillfactor = 50);
--> statement-breakpoint
CREATE FUNCTION allot_org_rollups_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  -- A transition table exists only for the event its trigger names (PostgreSQL allows one event per
  -- trigger with transition tables), so the rows to add are chosen by TG_OP and the one upsert below
  -- runs as dynamic SQL, which sees the transition tables too. Inserted rows add, deleted rows
  -- subtract, updated rows add (new − old): a rollup's key never changes, only its sums.
  v_plus CONSTANT text := 'org_id, day, model, category, events, input_tokens, output_tokens, tokens, value, '
                          'cost_micros';
  v_minus CONSTANT text := 'org_id, day, model, category, -events AS events, -input_tokens AS input_tokens, '
                           '-output_tokens AS output_tokens, -tokens AS tokens, -value AS value, '
                           '-cost_micros AS cost_micros';
  v_rows text := CASE TG_OP
    WHEN 'INSERT' THEN format('SELECT %s FROM allot_new_rows', v_plus)
    WHEN 'UPDATE' THEN format('SELECT %s FROM allot_new_rows UNION ALL SELECT %s FROM allot_old_rows', v_plus, v_minus)
    ELSE format('SELECT %s FROM allot_old_rows', v_minus)
  END;
BEGIN
  EXECUTE format(
    'INSERT INTO usage_org_daily_rollups AS o (org_id, day, model, category, events, input_tokens, output_tokens,
                                               tokens, value, cost_micros)
     SELECT d.org_id, d.day, d.model, d.category, sum(d.events), sum(d.input_tokens), sum(d.output_tokens),
            sum(d.tokens), sum(d.value), sum(d.cost_micros)
       FROM (%s) d
      GROUP BY d.org_id, d.day, d.model, d.category
     ON CONFLICT (org_id, day, model, category) DO UPDATE
       SET events = o.events + excluded.events,
           input_tokens = o.input_tokens + excluded.input_tokens,
           output_tokens = o.output_tokens + excluded.output_tokens,
           tokens = o.tokens + excluded.tokens,
           value = o.value + excluded.value,
           cost_micros = o.cost_micros + excluded.cost_micros', v_rows);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER usage_daily_rollups_org_insert AFTER INSERT ON usage_daily_rollups
  REFERENCING NEW TABLE AS allot_new_rows FOR EACH STATEMENT EXECUTE FUNCTION allot_org_rollups_apply();
--> statement-breakpoint
CREATE TRIGGER usage_daily_rollups_org_update AFTER UPDATE ON usage_daily_rollups
  REFERENCING OLD TABLE AS allot_old_rows NEW TABLE AS allot_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION allot_org_rollups_apply();
--> statement-breakpoint
CREATE TRIGGER usage_daily_rollups_org_delete AFTER DELETE ON usage_daily_rollups
  REFERENCING OLD TABLE AS allot_old_rows FOR EACH STATEMENT EXECUTE FUNCTION allot_org_rollups_apply();
--> statement-breakpoint
CREATE FUNCTION allot_org_rollups_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE usage_org_daily_rollups;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER usage_daily_rollups_org_truncate AFTER TRUNCATE ON usage_daily_rollups
  FOR EACH STATEMENT EXECUTE FUNCTION allot_org_rollups_truncate();
--> statement-breakpoint
-- The sums of what is already stored, once.
INSERT INTO usage_org_daily_rollups (org_id, day, model, category, events, input_tokens, output_tokens, tokens,
                                     value, cost_micros)
SELECT org_id, day, model, category, sum(events), sum(input_tokens), sum(output_tokens), sum(tokens), sum(value),
       sum(cost_micros)
  FROM usage_daily_rollups
 GROUP BY org_id, day, model, category;
--> statement-breakpoint
-- The BRIN index on transfers' times serves time windows (the dashboard's ledger filtered by dates, the
-- digest, exports) only over summarised block ranges; without autosummarize, ranges filled since the
-- last VACUUM are read whole. Summarise each range as it fills.
ALTER INDEX "transfers_created_brin" SET (autosummarize = on);

ALTER TABLE "accounts" DROP CONSTRAINT "accounts_org_kind_member_key";--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "stripe" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_org_kind_member_key" UNIQUE NULLS NOT DISTINCT("org_id","kind","member_id","stripe");--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_stripe" CHECK ("accounts"."stripe" = 0 OR ("accounts"."kind" = 'usage' AND "accounts"."stripe" BETWEEN 1 AND 15));
--> statement-breakpoint
-- Every organisation's usage account becomes 16 stripes (ledger.tables.ts, usageStripes): the first is
-- the account it had; usage of a wallet credits stripe (wallet id mod 16), so concurrent debits of
-- different wallets take different row locks. Their balances add up to the organisation's usage.
INSERT INTO accounts (org_id, kind, stripe)
SELECT a.org_id, 'usage', s.stripe
  FROM accounts a CROSS JOIN generate_series(1, 15) AS s(stripe)
 WHERE a.kind = 'usage' AND a.stripe = 0
 ORDER BY a.org_id, s.stripe;
--> statement-breakpoint
-- allot_settle_reservation as in 0007_rollups_read_time.sql, crediting the wallet's stripe of the usage account.
CREATE OR REPLACE FUNCTION allot_settle_reservation(
  p_org bigint,
  p_key text,
  p_platform text,
  p_now timestamptz,
  p_event jsonb,
  OUT o_status text,
  OUT o_state text,
  OUT o_event text,
  OUT o_amount bigint,
  OUT o_debited bigint,
  OUT o_balance bigint,
  OUT o_member bigint,
  OUT o_account bigint,
  OUT o_cost bigint
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_id bigint;
  v_zone text;
  v_usage bigint;
  v_row record;
BEGIN
  SELECT r.id, r.state, r.amount, r.member_id, r.account_id INTO v_id, o_state, o_amount, o_member, o_account
    FROM reservations r WHERE r.org_id = p_org AND r.idempotency_key = p_key
     FOR UPDATE;
  IF NOT FOUND THEN
    o_status := 'not_found';
    RETURN;
  END IF;
  IF o_state = 'released' THEN
    o_status := 'released';
    RETURN;
  END IF;
  SELECT o.time_zone INTO v_zone FROM organisations o WHERE o.id = p_org;
  -- The stripe of the usage account that the wallet's usage credits (ledger.tables.ts, usageStripes).
  SELECT a.id INTO v_usage FROM accounts a
   WHERE a.org_id = p_org AND a.kind = 'usage' AND a.member_id IS NULL
   ORDER BY a.stripe = o_account % 16 DESC, a.stripe
   LIMIT 1;

  o_debited := 0;
  -- A held reservation's hold is freed by the same update that debits the wallet.
  FOR v_row IN
    SELECT * FROM allot_ingest_usage(p_org, v_zone, v_usage, p_platform, p_now,
      jsonb_build_array(p_event || jsonb_build_object('idx', 0, 'member_id', o_member::text, 'wallet_id', o_account::text,
        'held_release', CASE WHEN o_state = 'held' THEN o_amount ELSE 0 END)))
  LOOP
    IF v_row.o_kind = 'event' THEN
      o_event := v_row.o_status;
      o_cost := v_row.o_amount;
    ELSIF v_row.o_kind = 'wallet' THEN
      o_debited := v_row.o_amount;
      o_balance := v_row.o_balance;
    END IF;
  END LOOP;
  IF o_event = 'conflict' THEN
    o_status := 'conflict';
    RETURN;
  END IF;

  IF o_state = 'held' THEN
    UPDATE reservations r SET state = 'settled', resolved_at = p_now, usage_event_id = p_event ->> 'event_id'
     WHERE r.org_id = p_org AND r.id = v_id;
    -- Only an accepted event freed the hold above; a held reservation whose event was already stored
    -- (which the reservation's lock makes impossible short of a hand-made event) frees it here.
    IF o_event <> 'accepted' THEN
      UPDATE accounts a SET held = a.held - o_amount WHERE a.org_id = p_org AND a.id = o_account;
    END IF;
    o_state := 'settled';
  END IF;
  o_status := 'ok';
END;
$$;

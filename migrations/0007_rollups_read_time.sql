ALTER TABLE "usage_period_totals" DROP CONSTRAINT "usage_period_totals_period";--> statement-breakpoint
-- Weeks and quarters are no longer stored (see allot_ingest_usage below); their rows go before the new check.
DELETE FROM "usage_period_totals" WHERE "period" <> 'month';--> statement-breakpoint
ALTER TABLE "reservations" DROP CONSTRAINT "reservations_org_id_organisations_id_fk";
--> statement-breakpoint
CREATE INDEX "usage_daily_rollups_org_day_idx" ON "usage_daily_rollups" USING btree ("org_id","day","member_id");--> statement-breakpoint
ALTER TABLE "usage_period_totals" ADD CONSTRAINT "usage_period_totals_period" CHECK ("usage_period_totals"."period" = 'month');
--> statement-breakpoint
-- allot_ingest_usage, two changes (bench/README.md, "Usage" and "Reservations"):
-- * only monthly totals are written (one upsert per member and month instead of three): a week is summed
--   from the daily rollups at read time, a quarter from its three months;
-- * an event may carry `held_release`, tokens of the member's hold to free in the same update that
--   debits the wallet, so a settle writes its wallet once (a second update of a row in the same
--   transaction also re-checks its foreign keys, share-locking the organisation and the member).
-- Everything else is as in 0001_functions.sql.
CREATE OR REPLACE FUNCTION allot_ingest_usage(
  p_org bigint,
  p_zone text,
  p_usage_account bigint,
  p_platform text,
  p_recorded_at timestamptz,
  p_events jsonb
) RETURNS TABLE (o_kind text, o_index int, o_status text, o_account bigint, o_balance bigint, o_amount bigint)
LANGUAGE plpgsql
-- Every lookup below is a whole-unique-key probe, so the generic plan is the right one; planning the
-- statement afresh on each call would cost more than running it.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_wanted int;
  v_locked int;
BEGIN
  SELECT count(*) INTO v_wanted FROM (
    SELECT p_usage_account AS id
    UNION
    SELECT (x ->> 'wallet_id')::bigint FROM jsonb_array_elements(p_events) AS x
  ) wanted;
  -- One primary-key probe per account, locked in id order (the usage account, created with the
  -- organisation, comes before every wallet). The lateral `limit 1` keeps each a per-row probe.
  SELECT count(*) FILTER (WHERE locked.kind = wanted.kind) INTO v_locked FROM (
    SELECT DISTINCT w.id, w.kind FROM (
      SELECT p_usage_account AS id, 'usage' AS kind
      UNION
      SELECT (x ->> 'wallet_id')::bigint, 'wallet' FROM jsonb_array_elements(p_events) AS x
    ) w ORDER BY w.id
  ) wanted
  CROSS JOIN LATERAL (
    SELECT a.kind FROM accounts a WHERE a.org_id = p_org AND a.id = wanted.id FOR UPDATE LIMIT 1
  ) locked;
  IF v_locked <> v_wanted THEN
    RAISE EXCEPTION 'allot_ingest_usage: % of % accounts found for organisation %', v_locked, v_wanted, p_org
      USING ERRCODE = 'foreign_key_violation';
  END IF;

  RETURN QUERY
  WITH input AS (
    SELECT e.*
      FROM jsonb_to_recordset(p_events) AS e(
        idx int, event_id text, op_key text, content_hash text, raw_hash text, member_id bigint,
        wallet_id bigint, model text, category text, input_tokens bigint, output_tokens bigint,
        event_at timestamptz, held_release bigint)
  ), classified AS (
    -- A stored event decides duplicate or conflict; a new event whose ledger key some other
    -- operation already holds is a conflict too (it would otherwise be debited twice).
    -- Both are lookups by a whole unique key, one index probe per event, so the cost follows the
    -- batch and never the size of the tables (a hash join here would read the organisation's history).
    SELECT i.*, u.content_hash AS stored_hash, k.taken IS NOT NULL AS key_taken
      FROM input i
      LEFT JOIN LATERAL (
        SELECT ue.content_hash FROM usage_events ue WHERE ue.org_id = p_org AND ue.event_id = i.event_id LIMIT 1
      ) u ON true
      LEFT JOIN LATERAL (
        SELECT true AS taken FROM transfers t
         WHERE u.content_hash IS NULL AND t.org_id = p_org AND t.operation_key = i.op_key AND t.leg = 1
         LIMIT 1
      ) k ON true
  ), fresh AS MATERIALIZED (
    SELECT c.idx, c.event_id, c.op_key, c.content_hash, c.raw_hash, c.member_id, c.wallet_id, c.model, c.category,
           c.input_tokens, c.output_tokens, c.event_at, coalesce(c.held_release, 0) AS held_release,
           c.input_tokens + c.output_tokens AS tokens,
           (c.event_at AT TIME ZONE p_zone)::date AS day,
           price.input_micros IS NOT NULL AS priced,
           coalesce(round((c.input_tokens::numeric * price.input_micros
                           + c.output_tokens::numeric * price.output_micros) / 1000000), 0)::bigint AS cost_micros,
           ((c.input_tokens + c.output_tokens) * coalesce(w.weight_thousandths, 1000)::bigint + 500) / 1000 AS value,
           row_number() OVER (PARTITION BY c.member_id ORDER BY c.idx) AS member_rank
      FROM classified c
      LEFT JOIN category_weights w ON w.org_id = p_org AND w.category = c.category
      LEFT JOIN LATERAL (
        SELECT s.input_micros, s.output_micros FROM (
          (SELECT 0 AS rank_source, mp.effective_from, mp.input_micros_per_million AS input_micros,
                  mp.output_micros_per_million AS output_micros
             FROM model_prices mp
            WHERE mp.org_id = p_org AND mp.model = c.model AND mp.effective_from <= c.event_at
            ORDER BY mp.effective_from DESC LIMIT 1)
          UNION ALL
          (SELECT 1, ms.effective_from, ms.input_micros_per_million, ms.output_micros_per_million
             FROM model_price_seeds ms
            WHERE ms.model = c.model AND ms.effective_from <= c.event_at
            ORDER BY ms.effective_from DESC LIMIT 1)
        ) s ORDER BY s.rank_source LIMIT 1
      ) price ON true
     WHERE c.stored_hash IS NULL AND NOT c.key_taken
  ), ided AS MATERIALIZED (
    -- One transfer per member, keyed by that member's first new event in the batch. Its id is drawn
    -- once, on that first event, and spread to the member's other events by a window, so every
    -- event can point at the transfer that debited it (windows and aggregates only: no join between
    -- these intermediate results, whose sizes the planner cannot know).
    SELECT f.*,
           max(CASE WHEN f.member_rank = 1 THEN nextval('transfers_id_seq') END)
             OVER (PARTITION BY f.member_id) AS transfer_id
      FROM fresh f
  ), debits AS MATERIALIZED (
    SELECT i.member_id, i.transfer_id, min(i.wallet_id) AS wallet_id,
           min(i.op_key) FILTER (WHERE i.member_rank = 1) AS op_key,
           sum(i.tokens)::bigint AS tokens, count(*) AS events, sum(i.held_release)::bigint AS held_release,
           -- The debit as posted (wallet, amount, number of events, first event), without a sort
           -- inside each group.
           md5(concat_ws(':', 'usage', min(i.wallet_id), sum(i.tokens), count(*),
                         min(i.content_hash) FILTER (WHERE i.member_rank = 1))) AS request_hash
      FROM ided i
     GROUP BY i.member_id, i.transfer_id
  ), stored_events AS (
    INSERT INTO usage_events (org_id, event_id, member_id, model, category, input_tokens, output_tokens,
                              event_at, recorded_at, cost_micros, value, content_hash, raw_hash, transfer_id)
    SELECT p_org, i.event_id, i.member_id, i.model, i.category, i.input_tokens, i.output_tokens,
           i.event_at, p_recorded_at, i.cost_micros, i.value, i.content_hash, i.raw_hash, i.transfer_id
      FROM ided i
  ), posted AS (
    INSERT INTO transfers (org_id, id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                           amount, code, actor_member_id, platform, memo)
    OVERRIDING SYSTEM VALUE
    SELECT p_org, d.transfer_id, d.op_key, 1, d.request_hash, d.wallet_id, p_usage_account,
           d.tokens, 'usage', d.member_id, p_platform,
           CASE WHEN d.events = 1 THEN '1 usage event' ELSE d.events || ' usage events' END
      FROM debits d
  ), daily AS (
    INSERT INTO usage_daily_rollups AS r (org_id, member_id, day, model, category, events, input_tokens,
                                          output_tokens, tokens, value, cost_micros)
    SELECT p_org, f.member_id, f.day, f.model, f.category, count(*), sum(f.input_tokens), sum(f.output_tokens),
           sum(f.tokens), sum(f.value), sum(f.cost_micros)
      FROM fresh f
     GROUP BY f.member_id, f.day, f.model, f.category
    ON CONFLICT (org_id, member_id, day, model, category) DO UPDATE
      SET events = r.events + excluded.events,
          input_tokens = r.input_tokens + excluded.input_tokens,
          output_tokens = r.output_tokens + excluded.output_tokens,
          tokens = r.tokens + excluded.tokens,
          value = r.value + excluded.value,
          cost_micros = r.cost_micros + excluded.cost_micros
  ), periods AS (
    -- Months only: a week is summed from the daily rollups at read time, a quarter from its months.
    INSERT INTO usage_period_totals AS pt (org_id, period, period_start, member_id, events, tokens, value, cost_micros)
    SELECT p_org, 'month', date_trunc('month', f.day::timestamp)::date, f.member_id, count(*), sum(f.tokens),
           sum(f.value), sum(f.cost_micros)
      FROM fresh f
     GROUP BY 3, f.member_id
    ON CONFLICT (org_id, period, period_start, member_id) DO UPDATE
      SET events = pt.events + excluded.events,
          tokens = pt.tokens + excluded.tokens,
          value = pt.value + excluded.value,
          cost_micros = pt.cost_micros + excluded.cost_micros
  ), moved AS (
    UPDATE accounts a
       SET balance = a.balance + m.delta, held = a.held - m.released
      FROM (
        SELECT d.wallet_id AS account_id, -d.tokens AS delta, d.held_release AS released FROM debits d
        UNION ALL
        SELECT p_usage_account, sum(d.tokens)::bigint, 0 FROM debits d HAVING count(*) > 0
      ) m
     WHERE a.org_id = p_org AND a.id = m.account_id
    RETURNING a.id, a.kind, a.balance, m.delta
  )
  -- Data-modifying WITH clauses always run to completion, whether or not the answer reads them.
  SELECT 'event'::text, i.idx, 'accepted'::text, NULL::bigint, NULL::bigint,
         CASE WHEN i.priced THEN i.cost_micros ELSE -1 END
    FROM ided i
  UNION ALL
  SELECT 'event'::text, c.idx, CASE WHEN c.stored_hash = c.content_hash THEN 'duplicate' ELSE 'conflict' END,
         NULL::bigint, NULL::bigint, NULL::bigint
    FROM classified c
   WHERE c.stored_hash IS NOT NULL OR c.key_taken
  UNION ALL
  SELECT 'wallet'::text, NULL::int, NULL::text, mv.id, mv.balance, -mv.delta
    FROM moved mv
   WHERE mv.kind = 'wallet';
END;
$$;
--> statement-breakpoint
-- allot_settle_reservation gains o_cost (the event's cost in micro-units, -1 when its model has no
-- price), so a settle can say that its model is unpriced as /v1/usage does; an OUT parameter changes
-- the result type, hence the drop.
DROP FUNCTION allot_settle_reservation(bigint, text, text, timestamptz, jsonb);
--> statement-breakpoint
-- Settles a reservation in one round trip: its usage event (validated and hashed by the caller, who
-- read the reservation) is stored, priced, debited and rolled up by allot_ingest_usage for the
-- reservation's member and wallet, and the reservation, if still held, becomes settled and frees its
-- hold. The reservation row is locked first (as allot_resolve_reservation and the sweeper do), then
-- the accounts, in id order, by allot_ingest_usage. Statuses:
--   ok (o_event: accepted | duplicate; o_state: settled, or expired when the deadline came first)
--   | conflict (the settle's event exists with other content) | released | not_found.
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
  SELECT a.id INTO v_usage FROM accounts a WHERE a.org_id = p_org AND a.kind = 'usage' AND a.member_id IS NULL;

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

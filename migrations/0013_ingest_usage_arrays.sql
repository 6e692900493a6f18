-- allot_ingest_usage takes its batch as typed arrays, one per field, instead of one jsonb array of
-- objects (bench/README.md, "Usage"): a batch of 1,000 events was 390 kB of JSON whose parsing and three
-- passes over it (two for the accounts, one for the rows) cost about a tenth of the function's server
-- time; the same fields as arrays are half the text and arrive parsed. Changes from 0011_lots.sql:
-- * the parameter p_events jsonb becomes p_idx .. p_event_at (and p_held_release, default NULL: none
--   to free); the `input` CTE reads them with unnest instead of jsonb_to_recordset, and the two
--   account statements read the wallets from p_wallet_id instead of jsonb_array_elements;
-- * in `fresh`, the price is two lateral lookups (the organisation's price, then the seed's only
--   when the organisation has none) instead of one lateral sorting the union of both per event.
-- Everything else is unchanged. allot_ingest_usage(..., p_events jsonb) stays, as a wrapper that turns
-- the objects into these arrays, for allot_settle_reservation (one event per call).
CREATE OR REPLACE FUNCTION allot_ingest_usage(
  p_org bigint,
  p_zone text,
  p_usage_account bigint,
  p_platform text,
  p_recorded_at timestamptz,
  p_idx int[],
  p_event_id text[],
  p_op_key text[],
  p_content_hash text[],
  p_raw_hash text[],
  p_member_id bigint[],
  p_wallet_id bigint[],
  p_model text[],
  p_category text[],
  p_input_tokens bigint[],
  p_output_tokens bigint[],
  p_event_at timestamptz[],
  p_held_release bigint[] DEFAULT NULL
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
    SELECT x.id FROM unnest(p_wallet_id) AS x(id)
  ) wanted;
  -- One primary-key probe per account, locked in id order (the usage account, created with the
  -- organisation, comes before every wallet). The lateral `limit 1` keeps each a per-row probe.
  SELECT count(*) FILTER (WHERE locked.kind = wanted.kind) INTO v_locked FROM (
    SELECT DISTINCT w.id, w.kind FROM (
      SELECT p_usage_account AS id, 'usage' AS kind
      UNION
      SELECT x.id, 'wallet' FROM unnest(p_wallet_id) AS x(id)
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
      FROM unnest(p_idx, p_event_id, p_op_key, p_content_hash, p_raw_hash, p_member_id, p_wallet_id, p_model,
                  p_category, p_input_tokens, p_output_tokens, p_event_at, p_held_release) AS e(
        idx, event_id, op_key, content_hash, raw_hash, member_id, wallet_id, model, category, input_tokens,
        output_tokens, event_at, held_release)
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
      -- The organisation's price in force at the event's time, else the seed's (model_price_seeds is
      -- read only when the organisation has none).
      LEFT JOIN LATERAL (
        SELECT mp.input_micros_per_million AS input_micros, mp.output_micros_per_million AS output_micros
          FROM model_prices mp
         WHERE mp.org_id = p_org AND mp.model = c.model AND mp.effective_from <= c.event_at
         ORDER BY mp.effective_from DESC LIMIT 1
      ) own ON true
      LEFT JOIN LATERAL (
        SELECT ms.input_micros_per_million AS input_micros, ms.output_micros_per_million AS output_micros
          FROM model_price_seeds ms
         WHERE own.input_micros IS NULL AND ms.model = c.model AND ms.effective_from <= c.event_at
         ORDER BY ms.effective_from DESC LIMIT 1
      ) seed ON true
      CROSS JOIN LATERAL (
        SELECT CASE WHEN own.input_micros IS NOT NULL THEN own.input_micros ELSE seed.input_micros END AS input_micros,
               CASE WHEN own.input_micros IS NOT NULL THEN own.output_micros ELSE seed.output_micros END AS output_micros
      ) price
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
  ), lot_order AS MATERIALIZED (
    -- Lots (0011_lots.sql): each member's debit draws their wallet's lots in the burn-down order
    -- (soonest expiry first, then lots with none, ties by the oldest); what no lot covers (usage
    -- overdrawing the wallet) draws nothing. The wallets are locked above, so their lots hold still.
    SELECT d.transfer_id, d.tokens, l.id AS lot_id, l.remaining,
           sum(l.remaining) OVER (PARTITION BY d.transfer_id ORDER BY l.expires_at ASC NULLS LAST, l.id)
             - l.remaining AS before
      FROM debits d
      CROSS JOIN LATERAL (
        SELECT lv.id, lv.remaining, lv.expires_at FROM lots lv
         WHERE lv.org_id = p_org AND lv.account_id = d.wallet_id AND lv.remaining > 0
      ) l
  ), lot_takes AS MATERIALIZED (
    SELECT o.transfer_id, o.lot_id, least(o.remaining, o.tokens - o.before) AS amount
      FROM lot_order o
     WHERE o.before < o.tokens
  ), lot_drawn AS (
    INSERT INTO lot_draws (org_id, transfer_id, lot_id, amount)
    SELECT p_org, t.transfer_id, t.lot_id, t.amount FROM lot_takes t
  ), lot_moved AS (
    UPDATE lots l SET remaining = l.remaining - t.amount
      FROM lot_takes t
     WHERE l.org_id = p_org AND l.id = t.lot_id
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
-- The jsonb form of allot_ingest_usage (one object per event, keys as the array parameters' names
-- without `p_`), kept for allot_settle_reservation: the same function, its objects turned into arrays.
CREATE OR REPLACE FUNCTION allot_ingest_usage(
  p_org bigint,
  p_zone text,
  p_usage_account bigint,
  p_platform text,
  p_recorded_at timestamptz,
  p_events jsonb
) RETURNS TABLE (o_kind text, o_index int, o_status text, o_account bigint, o_balance bigint, o_amount bigint)
LANGUAGE sql
AS $$
  SELECT u.*
    FROM (
      SELECT array_agg(e.idx) AS idx, array_agg(e.event_id) AS event_id, array_agg(e.op_key) AS op_key,
             array_agg(e.content_hash) AS content_hash, array_agg(e.raw_hash) AS raw_hash,
             array_agg(e.member_id) AS member_id, array_agg(e.wallet_id) AS wallet_id, array_agg(e.model) AS model,
             array_agg(e.category) AS category, array_agg(e.input_tokens) AS input_tokens,
             array_agg(e.output_tokens) AS output_tokens, array_agg(e.event_at) AS event_at,
             array_agg(e.held_release) AS held_release
        FROM jsonb_to_recordset(p_events) AS e(
          idx int, event_id text, op_key text, content_hash text, raw_hash text, member_id bigint,
          wallet_id bigint, model text, category text, input_tokens bigint, output_tokens bigint,
          event_at timestamptz, held_release bigint)
    ) a
    CROSS JOIN LATERAL allot_ingest_usage(p_org, p_zone, p_usage_account, p_platform, p_recorded_at, a.idx, a.event_id,
      a.op_key, a.content_hash, a.raw_hash, a.member_id, a.wallet_id, a.model, a.category, a.input_tokens,
      a.output_tokens, a.event_at, a.held_release) u
$$;

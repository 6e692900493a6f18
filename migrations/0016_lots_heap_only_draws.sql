-- Lots cost less to draw (bench/README.md, "Ledger"). With 0011_lots.sql every draw updated
-- lots.remaining, which was in the predicate of the partial indexes lots_live_idx and lots_due_idx, so
-- no draw could be a heap-only (HOT) update: each wrote a new row version into every lot index
-- (pg_stat_user_tables: n_tup_hot_upd 0 of n_tup_upd for lots). Now:
-- * lots.live (remaining > 0, a stored generated column) is the indexes' predicate instead. A draw that
--   leaves something in its lot changes no indexed column, and with room on the page (fillfactor 80)
--   it is heap-only: no index entry, less WAL, no index bloat for the burn-down probe to step over.
--   It flips only when a lot is used up. Every query for live lots says `live` (the planner matches an
--   index predicate by its expression, not by what implies it).
-- * allot_post's one-leg path makes its lot draw and lot credit itself (the statements of
--   allot_lots_draw and allot_lots_credit) instead of calling them (PERFORM: a statement of its own,
--   and a function with a SET clause, which saves and restores the setting on every call). Server CPU
--   per one-leg grant between accounts with one lot each fell by about a seventh with the two changes.
-- * allot_lots_draw and allot_ingest_usage (array form, as in 0013_ingest_usage_arrays.sql) find live
--   lots by `live`; nothing else in them changes.
-- * lot_draws_lot_idx goes: no query looks up one lot's draws (the audit sums the draws of every lot
--   at once, and everything else reads draws by transfer, through the primary key), and it was one
--   more index entry per draw.
-- * allot_settle_reservation (as in 0012_usage_stripes.sql) calls the array form of allot_ingest_usage
--   with its one event's fields instead of the jsonb form: that wrapper is a SQL function, which is
--   planned afresh on every call and turns the object into arrays: about 0.4 ms of server CPU of the
--   2 ms a single-event settle took. The fields are read from the event object with the same types as the wrapper's
--   jsonb_to_recordset gives them.
-- The burn-down order, the lot_draws rows and every answer are as before. Adding the stored column
-- rewrites the table (at fillfactor 80) under an exclusive lock: about 3 s for 250,000 lots.
ALTER TABLE "lots" SET (fillfactor = 80);--> statement-breakpoint
DROP INDEX "lot_draws_lot_idx";--> statement-breakpoint
DROP INDEX "lots_live_idx";--> statement-breakpoint
DROP INDEX "lots_due_idx";--> statement-breakpoint
ALTER TABLE "lots" ADD COLUMN "live" boolean GENERATED ALWAYS AS (remaining > 0) STORED;--> statement-breakpoint
CREATE INDEX "lots_live_idx" ON "lots" USING btree ("org_id","account_id","expires_at" ASC NULLS LAST,"id") WHERE "lots"."live";--> statement-breakpoint
CREATE INDEX "lots_due_idx" ON "lots" USING btree ("expires_at") WHERE "lots"."live" AND "lots"."expires_at" IS NOT NULL;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION allot_lots_draw(p_org bigint, p_account bigint, p_transfer bigint, p_amount bigint, p_lot bigint)
RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_left bigint := p_amount;
  v_take bigint;
  r record;
BEGIN
  IF p_lot IS NOT NULL THEN
    UPDATE lots l SET remaining = l.remaining - p_amount
     WHERE l.org_id = p_org AND l.id = p_lot AND l.account_id = p_account AND l.remaining >= p_amount;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'allot_lots_draw: lot % of account % does not cover %', p_lot, p_account, p_amount
        USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO lot_draws (org_id, transfer_id, lot_id, amount) VALUES (p_org, p_transfer, p_lot, p_amount);
    RETURN;
  END IF;
  -- Most debits fit in the first lot of the order: one probe of lots_live_idx, one update (allot_post
  -- makes this probe itself on its one-leg path, and calls here only when the first lot falls short).
  UPDATE lots l SET remaining = l.remaining - p_amount
   WHERE l.org_id = p_org AND l.remaining >= p_amount
     AND l.id = (SELECT f.id FROM lots f
                  WHERE f.org_id = p_org AND f.account_id = p_account AND f.live
                  ORDER BY f.expires_at ASC NULLS LAST, f.id LIMIT 1)
  RETURNING l.id INTO r;
  IF FOUND THEN
    INSERT INTO lot_draws (org_id, transfer_id, lot_id, amount) VALUES (p_org, p_transfer, r.id, p_amount);
    RETURN;
  END IF;
  FOR r IN
    SELECT l.id, l.remaining FROM lots l
     WHERE l.org_id = p_org AND l.account_id = p_account AND l.live
     ORDER BY l.expires_at ASC NULLS LAST, l.id
  LOOP
    v_take := least(r.remaining, v_left);
    UPDATE lots l SET remaining = l.remaining - v_take WHERE l.org_id = p_org AND l.id = r.id;
    INSERT INTO lot_draws (org_id, transfer_id, lot_id, amount) VALUES (p_org, p_transfer, r.id, v_take);
    v_left := v_left - v_take;
    EXIT WHEN v_left = 0;
  END LOOP;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION allot_post(
  p_org bigint,
  p_key text,
  p_hash text,
  p_code text,
  p_debits bigint[],
  p_credits bigint[],
  p_amounts bigint[],
  p_actor bigint,
  p_platform text,
  p_memo text,
  p_reverses bigint,
  p_lot_expiries timestamptz[] DEFAULT NULL,
  p_rollover bigint DEFAULT NULL,
  p_draw_lot bigint DEFAULT NULL,
  OUT o_status text,
  OUT o_ids bigint[],
  OUT o_account bigint,
  OUT o_created_at timestamptz
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_hash text;
  v_accounts bigint[];
  v_deltas bigint[];
  v_locked bigint[];
  v_kinds text[];
  v_members bigint[];
  v_balances bigint[];
  v_helds bigint[];
  v_running bigint[];
  v_debit bigint;
  v_credit bigint;
  v_amount bigint;
  v_first bigint;
  v_second bigint;
  v_id bigint;
  v_draw_lot bigint := p_draw_lot;
  v_lot_left bigint;
  v_lot bigint;
  v_member bigint;
  v_before bigint;
  v_kind1 text; v_member1 bigint; v_balance1 bigint;
  v_kind2 text; v_member2 bigint; v_balance2 bigint;
  v_di int;
  v_ci int;
  r record;
BEGIN
  SELECT t.request_hash, t.created_at INTO v_hash, o_created_at
    FROM transfers t
   WHERE t.org_id = p_org AND t.operation_key = p_key AND t.leg = 1;
  IF FOUND THEN
    IF v_hash = p_hash THEN
      o_status := 'exists';
      SELECT array_agg(t.id ORDER BY t.leg) INTO o_ids
        FROM transfers t
       WHERE t.org_id = p_org AND t.operation_key = p_key;
    ELSE
      o_status := 'conflict';
    END IF;
    RETURN;
  END IF;

  IF cardinality(p_debits) = 1 AND cardinality(p_credits) = 1 AND cardinality(p_amounts) = 1
     AND p_reverses IS NULL AND p_draw_lot IS NULL AND p_debits[1] <> p_credits[1] THEN
    v_debit := p_debits[1];
    v_credit := p_credits[1];
    v_amount := p_amounts[1];
    v_first := least(v_debit, v_credit);
    v_second := greatest(v_debit, v_credit);
    UPDATE accounts a
       SET balance = a.balance + CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
     WHERE a.org_id = p_org AND a.id = v_first
       AND (a.id = v_credit OR a.balance - a.held >= v_amount OR a.kind = 'treasury' OR (a.kind = 'wallet' AND p_code = 'usage'))
    RETURNING a.kind, a.member_id, a.balance INTO v_kind1, v_member1, v_balance1;
    IF FOUND THEN
      UPDATE accounts a
         SET balance = a.balance + CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
       WHERE a.org_id = p_org AND a.id = v_second
         AND (a.id = v_credit OR a.balance - a.held >= v_amount OR a.kind = 'treasury' OR (a.kind = 'wallet' AND p_code = 'usage'))
      RETURNING a.kind, a.member_id, a.balance INTO v_kind2, v_member2, v_balance2;
      IF FOUND THEN
        INSERT INTO transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                               amount, code, actor_member_id, platform, memo)
        VALUES (p_org, p_key, 1, p_hash, v_debit, v_credit, v_amount, p_code, p_actor, p_platform, p_memo)
        RETURNING id, created_at INTO v_id, o_created_at;
        -- Lots: the debited account's draws, then the credited account's new lot. Inlined from
        -- allot_lots_draw and allot_lots_credit (the same statements): a call to either costs about
        -- as much as the statement it makes. A debit that the first lot of the burn-down order covers
        -- is one probe of lots_live_idx and one update; any other goes to allot_lots_draw, which
        -- walks the lots.
        IF v_debit = v_first AND v_kind1 IN ('wallet', 'budget') OR v_debit = v_second AND v_kind2 IN ('wallet', 'budget') THEN
          UPDATE lots l SET remaining = l.remaining - v_amount
           WHERE l.org_id = p_org AND l.remaining >= v_amount
             AND l.id = (SELECT f.id FROM lots f
                          WHERE f.org_id = p_org AND f.account_id = v_debit AND f.live
                          ORDER BY f.expires_at ASC NULLS LAST, f.id LIMIT 1)
          RETURNING l.id INTO v_lot;
          IF FOUND THEN
            INSERT INTO lot_draws (org_id, transfer_id, lot_id, amount) VALUES (p_org, v_id, v_lot, v_amount);
          ELSE
            PERFORM allot_lots_draw(p_org, v_debit, v_id, v_amount, NULL);
          END IF;
        END IF;
        v_member := NULL;
        IF v_credit = v_first AND v_kind1 IN ('wallet', 'budget') THEN
          v_member := v_member1;
          v_before := v_balance1 - v_amount;
        ELSIF v_credit = v_second AND v_kind2 IN ('wallet', 'budget') THEN
          v_member := v_member2;
          v_before := v_balance2 - v_amount;
        END IF;
        IF v_member IS NOT NULL THEN
          -- allot_lots_credit without a reversal: a credit into an overdrawn wallet first pays the
          -- debt, and its new lot draws itself by what the debt takes.
          INSERT INTO lots (org_id, account_id, member_id, transfer_id, amount, remaining, expires_at, rollover_tokens)
          VALUES (p_org, v_credit, v_member, v_id, v_amount, v_amount - least(v_amount, greatest(0, -v_before)),
                  p_lot_expiries[1], p_rollover)
          RETURNING id INTO v_lot;
          IF v_before < 0 THEN
            INSERT INTO lot_draws (org_id, transfer_id, lot_id, amount)
            VALUES (p_org, v_id, v_lot, least(v_amount, -v_before));
          END IF;
        END IF;
        o_ids := ARRAY[v_id];
        o_status := 'ok';
        RETURN;
      END IF;
      UPDATE accounts a
         SET balance = a.balance - CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
       WHERE a.org_id = p_org AND a.id = v_first;
    END IF;
  END IF;

  SELECT array_agg(acc ORDER BY acc) INTO v_accounts
    FROM (SELECT DISTINCT unnest(p_debits || p_credits) AS acc) a;

  SELECT array_agg(id ORDER BY id), array_agg(kind ORDER BY id), array_agg(balance ORDER BY id),
         array_agg(held ORDER BY id), array_agg(member_id ORDER BY id)
    INTO v_locked, v_kinds, v_balances, v_helds, v_members
    FROM (
      SELECT id, kind, balance, held, member_id FROM accounts
       WHERE org_id = p_org AND id = ANY (v_accounts)
       ORDER BY id
         FOR UPDATE
    ) locked;
  IF v_accounts IS NULL OR v_locked IS DISTINCT FROM v_accounts THEN
    o_status := 'account_not_found';
    RETURN;
  END IF;

  IF p_reverses IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM transfers WHERE org_id = p_org AND reverses_transfer_id = p_reverses) THEN
      o_status := 'already_reversed';
      RETURN;
    END IF;
    -- Reversing a credit takes back only what remains of its lot (what was spent is history).
    IF cardinality(p_debits) = 1 THEN
      SELECT l.id, l.remaining INTO v_draw_lot, v_lot_left
        FROM lots l WHERE l.org_id = p_org AND l.transfer_id = p_reverses AND l.account_id = p_debits[1];
      IF FOUND THEN
        IF v_lot_left = 0 THEN
          o_status := 'nothing_left';
          o_account := p_debits[1];
          RETURN;
        END IF;
        p_amounts := ARRAY[least(p_amounts[1], v_lot_left)];
      END IF;
    END IF;
  END IF;
  IF p_draw_lot IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM lots l WHERE l.org_id = p_org AND l.id = p_draw_lot AND l.account_id = p_debits[1]
       AND l.remaining >= p_amounts[1]) THEN
    o_status := 'exceeds_lot';
    o_account := p_debits[1];
    RETURN;
  END IF;

  SELECT array_agg(coalesce(n.delta, 0) ORDER BY acc.id) INTO v_deltas
    FROM unnest(v_accounts) AS acc(id)
    LEFT JOIN (
      SELECT x.acc, sum(x.delta)::bigint AS delta FROM (
        SELECT d AS acc, -amt AS delta FROM unnest(p_debits, p_amounts) AS m(d, amt)
        UNION ALL
        SELECT c, amt FROM unnest(p_credits, p_amounts) AS m(c, amt)
      ) x GROUP BY x.acc
    ) n ON n.acc = acc.id;

  FOR i IN 1 .. array_length(v_accounts, 1) LOOP
    IF v_deltas[i] < 0 AND v_balances[i] - v_helds[i] + v_deltas[i] < 0 AND v_kinds[i] <> 'treasury'
       AND NOT (v_kinds[i] = 'wallet' AND p_code = 'usage') THEN
      o_status := 'exceeds_balance';
      o_account := v_accounts[i];
      RETURN;
    END IF;
  END LOOP;

  UPDATE accounts a
     SET balance = a.balance + n.delta
    FROM unnest(v_accounts, v_deltas) AS n(acc, delta)
   WHERE a.org_id = p_org AND a.id = n.acc AND n.delta <> 0;

  -- The transfers, then their lots leg by leg, following each account's balance through the legs.
  v_running := v_balances;
  FOR r IN
    WITH inserted AS (
      INSERT INTO transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                             amount, code, actor_member_id, platform, memo, reverses_transfer_id)
      SELECT p_org, p_key, m.leg::smallint, p_hash, m.d, m.c, m.amt, p_code, p_actor, p_platform, p_memo, p_reverses
        FROM unnest(p_debits, p_credits, p_amounts) WITH ORDINALITY AS m(d, c, amt, leg)
      RETURNING id, leg, debit_account_id, credit_account_id, amount, created_at
    )
    SELECT * FROM inserted ORDER BY leg
  LOOP
    o_ids := coalesce(o_ids, ARRAY[]::bigint[]) || r.id;
    o_created_at := coalesce(o_created_at, r.created_at);
    v_di := array_position(v_accounts, r.debit_account_id);
    v_ci := array_position(v_accounts, r.credit_account_id);
    IF v_kinds[v_di] IN ('wallet', 'budget') THEN
      PERFORM allot_lots_draw(p_org, r.debit_account_id, r.id, r.amount, v_draw_lot);
    END IF;
    v_running[v_di] := v_running[v_di] - r.amount;
    IF v_kinds[v_ci] IN ('wallet', 'budget') THEN
      PERFORM allot_lots_credit(p_org, r.credit_account_id, v_members[v_ci], r.id, r.amount, v_running[v_ci],
                                p_lot_expiries[r.leg], p_rollover, p_reverses);
    END IF;
    v_running[v_ci] := v_running[v_ci] + r.amount;
  END LOOP;
  o_status := 'ok';
END;
$$;
--> statement-breakpoint
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
    -- Lots (0011_lots.sql; live: 0016): each member's debit draws their wallet's lots in the burn-down order
    -- (soonest expiry first, then lots with none, ties by the oldest); what no lot covers (usage
    -- overdrawing the wallet) draws nothing. The wallets are locked above, so their lots hold still.
    SELECT d.transfer_id, d.tokens, l.id AS lot_id, l.remaining,
           sum(l.remaining) OVER (PARTITION BY d.transfer_id ORDER BY l.expires_at ASC NULLS LAST, l.id)
             - l.remaining AS before
      FROM debits d
      CROSS JOIN LATERAL (
        SELECT lv.id, lv.remaining, lv.expires_at FROM lots lv
         WHERE lv.org_id = p_org AND lv.account_id = d.wallet_id AND lv.live
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
      ARRAY[0], ARRAY[p_event ->> 'event_id'], ARRAY[p_event ->> 'op_key'], ARRAY[p_event ->> 'content_hash'],
      ARRAY[p_event ->> 'raw_hash'], ARRAY[o_member], ARRAY[o_account], ARRAY[p_event ->> 'model'],
      ARRAY[p_event ->> 'category'], ARRAY[(p_event ->> 'input_tokens')::bigint],
      ARRAY[(p_event ->> 'output_tokens')::bigint], ARRAY[(p_event ->> 'event_at')::timestamptz],
      ARRAY[CASE WHEN o_state = 'held' THEN o_amount ELSE 0 END])
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

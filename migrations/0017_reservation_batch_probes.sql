-- Reservation batches cost less (bench/README.md, "Reservations"), measured with pg_stat_statements
-- (track = all) on batches of one reserve and one settle:
-- * allot_reservation_batch read whole organisations where it meant to probe a few rows:
--   - the holds were changed by `UPDATE accounts … FROM (grouped holds) WHERE a.id = t.w`, planned as
--     a scan of all the organisation's accounts hash-joined to the holds: 2,018 rows read to change one
--     wallet's hold with 1,000 members (about 0.3 ms, growing with the organisation), with statistics
--     (a sequential scan) as without (a bitmap scan);
--   - the settles' reservations were locked by `idempotency_key = ANY (…)` and marked settled by
--     `id = ANY (…)`: with an array of unknown length the generic plan (the function forces generic
--     plans) scanned the organisation's reservations, its whole history, and filtered them by the
--     array (780 rows read to settle 6 in a small test, sequentially once analysed).
--   Each is now a lateral `limit 1` probe or a statement of its own on a whole unique key: one index
--   probe each once the table has statistics, as steps 2 and 3 already were. (A plan made while a
--   table is new and never analysed may pick the wrong index for any of them, as for every statement:
--   autovacuum's first ANALYZE replaces it; bench/reservations analyses halfway through its warm-up.)
-- * Its settles called the jsonb form of allot_ingest_usage, a SQL function planned afresh on every
--   call that turns objects into arrays; it now builds the arrays itself and calls the array form
--   (0013_ingest_usage_arrays.sql), as allot_settle_reservation does since 0016.
-- * allot_org_rollups_apply (0010_dashboard.sql) ran its upsert as dynamic SQL, parsed and planned on
--   every statement that wrote usage_daily_rollups, and an upsert fires both its INSERT and its UPDATE
--   trigger: two plannings per batch of events. The statements are static now (PL/pgSQL sees a
--   trigger's transition tables in static SQL too), so their plans are cached per session.
-- Everything else in both functions, and every answer, is as before.
CREATE OR REPLACE FUNCTION allot_reservation_batch(
  p_org bigint,
  p_platform text,
  p_settles jsonb,
  p_reserves jsonb
) RETURNS TABLE (
  o_index int, o_status text, o_id bigint, o_state text, o_event text, o_amount bigint,
  o_expires_at timestamptz, o_created_at timestamptz, o_available bigint, o_debited bigint,
  o_balance bigint, o_member bigint, o_account bigint, o_cost bigint
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_zone text;
  v_usage bigint;
  v_recorded_at timestamptz;
  -- The settles' usage events as allot_ingest_usage's array form takes them (step 4).
  v_idx int[];
  v_event_ids text[];
  v_op_keys text[];
  v_content_hashes text[];
  v_raw_hashes text[];
  v_member_ids bigint[];
  v_wallet_ids bigint[];
  v_models text[];
  v_categories text[];
  v_input_tokens bigint[];
  v_output_tokens bigint[];
  v_event_ats timestamptz[];
  v_held_releases bigint[];
  -- A wallet whose hold changes, and by how much.
  v_hold_account bigint;
  v_hold_total bigint;
  v_i int;
  v_row record;
  -- The settles' reservations as locked (step 1), parallel arrays.
  s_ids bigint[];
  s_keys text[];
  s_states text[];
  s_amounts bigint[];
  s_members bigint[];
  s_accounts bigint[];
  -- The settles' usage events as allot_ingest_usage answered them, by idx.
  e_idx int[] := '{}';
  e_status text[] := '{}';
  e_cost bigint[] := '{}';
  -- The held reservations the settles resolve: ids, times, events, and holds not freed by a debit.
  u_ids bigint[];
  u_nows timestamptz[];
  u_events text[];
  u_unfreed_accounts bigint[];
  u_unfreed_amounts bigint[];
  -- Wallets' balances after the settles' debits.
  w_ids bigint[] := '{}';
  w_balances bigint[] := '{}';
  -- The reserves resolved to members and wallets (step 2).
  v_reserves jsonb;
  -- Step 5: the wallet being decided, what it still has free, and the reserves held.
  v_wallet bigint;
  v_free bigint;
  h_keys text[] := '{}';
  h_available bigint[] := '{}';
  h_wallets bigint[] := '{}';
  h_amounts bigint[] := '{}';
BEGIN
  IF jsonb_array_length(p_settles) > 0 THEN
    -- 1. Lock the reservations to settle, in id order, and read them as locked: each found by its whole
    -- unique key, then locked by its primary key in id order. Both are lateral `limit 1` probes: one
    -- index probe each once the table has statistics (src/db/maintenance.ts).
    SELECT array_agg(r.id ORDER BY r.id), array_agg(r.idempotency_key ORDER BY r.id),
           array_agg(r.state ORDER BY r.id), array_agg(r.amount ORDER BY r.id),
           array_agg(r.member_id ORDER BY r.id), array_agg(r.account_id ORDER BY r.id)
      INTO s_ids, s_keys, s_states, s_amounts, s_members, s_accounts
      FROM (
        SELECT found.id
          FROM jsonb_array_elements(p_settles) AS s
         CROSS JOIN LATERAL (
           SELECT f.id FROM reservations f WHERE f.org_id = p_org AND f.idempotency_key = s.value ->> 'key' LIMIT 1
         ) found
         ORDER BY found.id
      ) wanted
      CROSS JOIN LATERAL (
        SELECT l.id, l.idempotency_key, l.state, l.amount, l.member_id, l.account_id
          FROM reservations l WHERE l.org_id = p_org AND l.id = wanted.id FOR UPDATE LIMIT 1
      ) r;
    SELECT o.time_zone INTO v_zone FROM organisations o WHERE o.id = p_org;
    -- Stripe 0 of the usage account (migrations/0012_usage_stripes.sql) for the whole batch: the batch
    -- updates it once, and batches of one organisation come one at a time from each replica.
    SELECT a.id INTO v_usage FROM accounts a
     WHERE a.org_id = p_org AND a.kind = 'usage' AND a.member_id IS NULL
     ORDER BY a.stripe
     LIMIT 1;
  END IF;

  -- 2. The reserves' members and wallets, and an earlier reservation with the same key (a repeat). Each
  -- lateral is a whole-unique-key probe; its `limit 1` keeps it one (a join would read the history).
  SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.wallet_id, x.idx), '[]'::jsonb) INTO v_reserves
    FROM (
      SELECT i.idx, i.key, i.hash, i.user_ref, i.amount, i.model, i.now, i.expires_at,
             m.id AS member_id, m.is_active, w.id AS wallet_id,
             ex.request_hash AS ex_hash, ex.id AS ex_id, ex.state AS ex_state, ex.amount AS ex_amount,
             ex.expires_at AS ex_expires_at, ex.created_at AS ex_created_at, ex.available_after AS ex_available
        FROM jsonb_to_recordset(p_reserves) AS i(
               idx int, key text, hash text, user_kind text, user_value text, user_ref text, amount bigint,
               model text, now timestamptz, expires_at timestamptz)
        LEFT JOIN LATERAL (
          SELECT mm.id, mm.is_active FROM members mm
           WHERE i.user_kind = 'email' AND mm.org_id = p_org AND mm.email = i.user_value
          UNION ALL
          SELECT mm.id, mm.is_active
            FROM member_identities mi JOIN members mm ON mm.org_id = mi.org_id AND mm.id = mi.member_id
           WHERE i.user_kind <> 'email' AND mi.org_id = p_org AND mi.platform = i.user_kind
             AND mi.external_id = i.user_value
           LIMIT 1
        ) m ON true
        LEFT JOIN LATERAL (
          SELECT a.id FROM accounts a WHERE a.org_id = p_org AND a.kind = 'wallet' AND a.member_id = m.id LIMIT 1
        ) w ON true
        LEFT JOIN LATERAL (
          SELECT r.request_hash, r.id, r.state, r.amount, r.expires_at, r.created_at, r.available_after
            FROM reservations r WHERE r.org_id = p_org AND r.idempotency_key = i.key LIMIT 1
        ) ex ON true
    ) x;

  -- 3. Every account the batch writes, locked in one pass in id order; the lateral probe keeps each
  -- lock a primary-key lookup taken in that order.
  PERFORM 1
    FROM (
      SELECT DISTINCT acc FROM (
        SELECT v_usage AS acc WHERE v_usage IS NOT NULL
        UNION ALL
        SELECT unnest(s_accounts)
        UNION ALL
        SELECT (x ->> 'wallet_id')::bigint FROM jsonb_array_elements(v_reserves) AS x
         WHERE x ->> 'wallet_id' IS NOT NULL AND x ->> 'ex_id' IS NULL AND (x ->> 'is_active')::boolean
      ) touched
      ORDER BY acc
    ) wanted
    CROSS JOIN LATERAL (
      SELECT a.id FROM accounts a WHERE a.org_id = p_org AND a.id = wanted.acc FOR UPDATE LIMIT 1
    ) locked;

  -- 4. The settles: one usage event per reservation found and not released, through allot_ingest_usage.
  IF jsonb_array_length(p_settles) > 0 THEN
    SELECT array_agg((s.value ->> 'idx')::int), array_agg(s.value -> 'event' ->> 'event_id'),
           array_agg(s.value -> 'event' ->> 'op_key'), array_agg(s.value -> 'event' ->> 'content_hash'),
           array_agg(s.value -> 'event' ->> 'raw_hash'), array_agg(r.member_id), array_agg(r.account_id),
           array_agg(s.value -> 'event' ->> 'model'), array_agg(s.value -> 'event' ->> 'category'),
           array_agg((s.value -> 'event' ->> 'input_tokens')::bigint),
           array_agg((s.value -> 'event' ->> 'output_tokens')::bigint),
           array_agg((s.value -> 'event' ->> 'event_at')::timestamptz),
           array_agg(CASE WHEN r.state = 'held' THEN r.amount ELSE 0 END),
           max((s.value ->> 'now')::timestamptz)
      INTO v_idx, v_event_ids, v_op_keys, v_content_hashes, v_raw_hashes, v_member_ids, v_wallet_ids, v_models,
           v_categories, v_input_tokens, v_output_tokens, v_event_ats, v_held_releases, v_recorded_at
      FROM jsonb_array_elements(p_settles) AS s
      JOIN unnest(s_keys, s_states, s_amounts, s_members, s_accounts) AS r(key, state, amount, member_id, account_id)
        ON r.key = s.value ->> 'key'
     WHERE r.state <> 'released';
    IF v_idx IS NOT NULL THEN
      FOR v_row IN
        SELECT * FROM allot_ingest_usage(p_org, v_zone, v_usage, p_platform, v_recorded_at, v_idx, v_event_ids,
                                         v_op_keys, v_content_hashes, v_raw_hashes, v_member_ids, v_wallet_ids,
                                         v_models, v_categories, v_input_tokens, v_output_tokens, v_event_ats,
                                         v_held_releases)
      LOOP
        IF v_row.o_kind = 'event' THEN
          e_idx := e_idx || v_row.o_index;
          e_status := e_status || v_row.o_status;
          e_cost := e_cost || v_row.o_amount;
        ELSIF v_row.o_kind = 'wallet' THEN
          w_ids := w_ids || v_row.o_account;
          w_balances := w_balances || v_row.o_balance;
        END IF;
      END LOOP;
    END IF;

    -- Each held reservation whose event is stored becomes settled; its hold was freed with the debit
    -- (an event already stored, which the reservation's lock makes impossible short of a hand-made
    -- event, frees it here). Each is updated by its own statement on the whole primary key: one index
    -- probe, never a scan of the organisation's reservations.
    SELECT array_agg(k.id), array_agg((s.value ->> 'now')::timestamptz), array_agg(s.value -> 'event' ->> 'event_id'),
           array_agg(k.account_id) FILTER (WHERE e.status <> 'accepted'),
           array_agg(k.amount) FILTER (WHERE e.status <> 'accepted')
      INTO u_ids, u_nows, u_events, u_unfreed_accounts, u_unfreed_amounts
      FROM jsonb_array_elements(p_settles) AS s
      JOIN unnest(e_idx, e_status) AS e(idx, status) ON e.idx = (s.value ->> 'idx')::int
      JOIN unnest(s_ids, s_keys, s_states, s_amounts, s_accounts) AS k(id, key, state, amount, account_id)
        ON k.key = s.value ->> 'key'
     WHERE e.status <> 'conflict' AND k.state = 'held';
    IF u_ids IS NOT NULL THEN
      FOR v_i IN 1 .. cardinality(u_ids) LOOP
        UPDATE reservations r SET state = 'settled', resolved_at = u_nows[v_i], usage_event_id = u_events[v_i]
         WHERE r.org_id = p_org AND r.id = u_ids[v_i];
      END LOOP;
      IF u_unfreed_accounts IS NOT NULL THEN
        FOR v_hold_account, v_hold_total IN
          SELECT acc, sum(amt)::bigint FROM unnest(u_unfreed_accounts, u_unfreed_amounts) AS x(acc, amt)
           GROUP BY acc ORDER BY acc
        LOOP
          UPDATE accounts a SET held = a.held - v_hold_total WHERE a.org_id = p_org AND a.id = v_hold_account;
        END LOOP;
      END IF;
    END IF;

    -- The settles' answers. A member's events of one batch are debited by one transfer; each answer
    -- gives the balance as if the batch's settles came one by one in idx order.
    RETURN QUERY
    WITH answers AS (
      SELECT (s.value ->> 'idx')::int AS idx, r.state, r.amount, r.member_id, r.account_id, e.status AS event,
             e.cost, (s.value -> 'event' ->> 'input_tokens')::bigint
               + (s.value -> 'event' ->> 'output_tokens')::bigint AS tokens
        FROM jsonb_array_elements(p_settles) AS s
        LEFT JOIN unnest(s_keys, s_states, s_amounts, s_members, s_accounts)
               AS r(key, state, amount, member_id, account_id) ON r.key = s.value ->> 'key'
        LEFT JOIN unnest(e_idx, e_status, e_cost) AS e(idx, status, cost) ON e.idx = (s.value ->> 'idx')::int
    )
    SELECT a.idx,
           CASE WHEN a.state IS NULL THEN 'not_found' WHEN a.state = 'released' THEN 'released'
                WHEN a.event = 'conflict' THEN 'conflict' ELSE 'ok' END,
           NULL::bigint,
           CASE WHEN a.state = 'held' AND a.event <> 'conflict' THEN 'settled' ELSE a.state END,
           a.event, a.amount, NULL::timestamptz, NULL::timestamptz, NULL::bigint,
           CASE WHEN a.event = 'accepted' THEN a.tokens ELSE 0 END,
           CASE WHEN a.event = 'accepted' THEN
             w.balance + coalesce((SELECT sum(later.tokens) FROM answers later
                                    WHERE later.account_id = a.account_id AND later.event = 'accepted'
                                      AND later.idx > a.idx), 0)::bigint
           END,
           a.member_id, a.account_id, a.cost
      FROM answers a
      LEFT JOIN unnest(w_ids, w_balances) AS w(id, balance) ON w.id = a.account_id;
  END IF;

  -- 5. The reserves, in arrival order per wallet (v_reserves is sorted by wallet, then idx).
  FOR v_row IN
    SELECT x.*, a.free
      FROM jsonb_to_recordset(v_reserves) AS x(
             idx int, key text, hash text, user_ref text, amount bigint, model text, now timestamptz,
             expires_at timestamptz, member_id bigint, is_active boolean, wallet_id bigint, ex_hash text,
             ex_id bigint, ex_state text, ex_amount bigint, ex_expires_at timestamptz,
             ex_created_at timestamptz, ex_available bigint)
      LEFT JOIN LATERAL (
        SELECT a.balance - a.held AS free FROM accounts a WHERE a.org_id = p_org AND a.id = x.wallet_id LIMIT 1
      ) a ON true
     ORDER BY x.wallet_id, x.idx
  LOOP
    o_index := v_row.idx;
    o_member := v_row.member_id;
    o_id := NULL; o_state := NULL; o_event := NULL; o_amount := NULL; o_expires_at := NULL; o_created_at := NULL;
    o_available := NULL; o_debited := NULL; o_balance := NULL; o_account := NULL; o_cost := NULL;
    IF v_row.member_id IS NULL THEN
      o_status := 'unknown_user';
    ELSIF v_row.ex_id IS NOT NULL THEN
      -- A repeat answers as the first call did, `available` included.
      o_status := CASE WHEN v_row.ex_hash = v_row.hash THEN 'exists' ELSE 'conflict' END;
      o_id := v_row.ex_id; o_state := v_row.ex_state; o_amount := v_row.ex_amount;
      o_expires_at := v_row.ex_expires_at; o_created_at := v_row.ex_created_at; o_available := v_row.ex_available;
    ELSIF NOT v_row.is_active THEN
      o_status := 'member_inactive';
    ELSIF v_row.wallet_id IS NULL THEN
      o_status := 'unknown_user';
    ELSE
      IF v_wallet IS DISTINCT FROM v_row.wallet_id THEN
        v_wallet := v_row.wallet_id;
        v_free := v_row.free;
      END IF;
      o_account := v_wallet;
      IF v_free >= v_row.amount THEN
        v_free := v_free - v_row.amount;
        h_keys := h_keys || v_row.key;
        h_available := h_available || v_free;
        h_wallets := h_wallets || v_wallet;
        h_amounts := h_amounts || v_row.amount;
        CONTINUE;
      END IF;
      o_status := 'insufficient';
      o_available := v_free;
    END IF;
    RETURN NEXT;
  END LOOP;

  IF cardinality(h_keys) > 0 THEN
    FOR v_hold_account, v_hold_total IN
      SELECT w, sum(amt)::bigint FROM unnest(h_wallets, h_amounts) AS h(w, amt) GROUP BY w ORDER BY w
    LOOP
      UPDATE accounts a SET held = a.held + v_hold_total WHERE a.org_id = p_org AND a.id = v_hold_account;
    END LOOP;
    RETURN QUERY
    WITH held AS (
      INSERT INTO reservations (org_id, idempotency_key, request_hash, member_id, user_ref, account_id, amount,
                                model, expires_at, created_at, available_after)
      SELECT p_org, x.key, x.hash, x.member_id, x.user_ref, x.wallet_id, x.amount, x.model, x.expires_at, x.now,
             h.available
        FROM unnest(h_keys, h_available) AS h(key, available)
        JOIN jsonb_to_recordset(v_reserves) AS x(
               idx int, key text, hash text, user_ref text, amount bigint, model text, now timestamptz,
               expires_at timestamptz, member_id bigint, wallet_id bigint) ON x.key = h.key
      RETURNING id, idempotency_key, state, amount, expires_at, created_at, available_after, member_id, account_id
    )
    SELECT x.idx, 'ok'::text, held.id, held.state, NULL::text, held.amount, held.expires_at, held.created_at,
           held.available_after, NULL::bigint, NULL::bigint, held.member_id, held.account_id, NULL::bigint
      FROM held
      JOIN jsonb_to_recordset(v_reserves) AS x(idx int, key text) ON x.key = held.idempotency_key;
  END IF;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION allot_org_rollups_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- A transition table exists only for the event its trigger names, so each event has its statement.
  -- Inserted rows add, deleted rows subtract, updated rows add (new − old): a rollup's key never
  -- changes, only its sums. A statement that touched no row (an upsert that only updated fires the
  -- INSERT trigger too) writes nothing.
  IF TG_OP = 'INSERT' THEN
    INSERT INTO usage_org_daily_rollups AS o (org_id, day, model, category, events, input_tokens, output_tokens,
                                              tokens, value, cost_micros)
    SELECT d.org_id, d.day, d.model, d.category, sum(d.events), sum(d.input_tokens), sum(d.output_tokens),
           sum(d.tokens), sum(d.value), sum(d.cost_micros)
      FROM (
        SELECT org_id, day, model, category, events, input_tokens, output_tokens, tokens, value, cost_micros
          FROM allot_new_rows
      ) AS d(org_id, day, model, category, events, input_tokens, output_tokens, tokens, value, cost_micros)
      GROUP BY d.org_id, d.day, d.model, d.category
     ON CONFLICT (org_id, day, model, category) DO UPDATE
       SET events = o.events + excluded.events,
           input_tokens = o.input_tokens + excluded.input_tokens,
           output_tokens = o.output_tokens + excluded.output_tokens,
           tokens = o.tokens + excluded.tokens,
           value = o.value + excluded.value,
           cost_micros = o.cost_micros + excluded.cost_micros;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO usage_org_daily_rollups AS o (org_id, day, model, category, events, input_tokens, output_tokens,
                                              tokens, value, cost_micros)
    SELECT d.org_id, d.day, d.model, d.category, sum(d.events), sum(d.input_tokens), sum(d.output_tokens),
           sum(d.tokens), sum(d.value), sum(d.cost_micros)
      FROM (
        SELECT org_id, day, model, category, events, input_tokens, output_tokens, tokens, value, cost_micros
          FROM allot_new_rows
        UNION ALL
        SELECT org_id, day, model, category, -events, -input_tokens, -output_tokens, -tokens, -value, -cost_micros
          FROM allot_old_rows
      ) AS d(org_id, day, model, category, events, input_tokens, output_tokens, tokens, value, cost_micros)
      GROUP BY d.org_id, d.day, d.model, d.category
     ON CONFLICT (org_id, day, model, category) DO UPDATE
       SET events = o.events + excluded.events,
           input_tokens = o.input_tokens + excluded.input_tokens,
           output_tokens = o.output_tokens + excluded.output_tokens,
           tokens = o.tokens + excluded.tokens,
           value = o.value + excluded.value,
           cost_micros = o.cost_micros + excluded.cost_micros;
  ELSE
    INSERT INTO usage_org_daily_rollups AS o (org_id, day, model, category, events, input_tokens, output_tokens,
                                              tokens, value, cost_micros)
    SELECT d.org_id, d.day, d.model, d.category, sum(d.events), sum(d.input_tokens), sum(d.output_tokens),
           sum(d.tokens), sum(d.value), sum(d.cost_micros)
      FROM (
        SELECT org_id, day, model, category, -events, -input_tokens, -output_tokens, -tokens, -value, -cost_micros
          FROM allot_old_rows
      ) AS d(org_id, day, model, category, events, input_tokens, output_tokens, tokens, value, cost_micros)
      GROUP BY d.org_id, d.day, d.model, d.category
     ON CONFLICT (org_id, day, model, category) DO UPDATE
       SET events = o.events + excluded.events,
           input_tokens = o.input_tokens + excluded.input_tokens,
           output_tokens = o.output_tokens + excluded.output_tokens,
           tokens = o.tokens + excluded.tokens,
           value = o.value + excluded.value,
           cost_micros = o.cost_micros + excluded.cost_micros;
  END IF;
  RETURN NULL;
END;
$$;

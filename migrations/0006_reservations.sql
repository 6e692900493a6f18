CREATE TABLE "reservations" (
	"org_id" bigint NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "reservations_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"member_id" bigint NOT NULL,
	"user_ref" text NOT NULL,
	"account_id" bigint NOT NULL,
	"amount" bigint NOT NULL,
	"model" text,
	"state" text DEFAULT 'held' NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"available_after" bigint NOT NULL,
	"usage_event_id" text,
	CONSTRAINT "reservations_org_id_id_pk" PRIMARY KEY("org_id","id"),
	CONSTRAINT "reservations_org_key" UNIQUE("org_id","idempotency_key"),
	CONSTRAINT "reservations_amount_range" CHECK ("reservations"."amount" BETWEEN 1 AND 1000000000000),
	CONSTRAINT "reservations_state" CHECK ("reservations"."state" IN ('held', 'settled', 'released', 'expired')),
	CONSTRAINT "reservations_resolved" CHECK (("reservations"."state" = 'held') = ("reservations"."resolved_at" IS NULL)),
	CONSTRAINT "reservations_key_length" CHECK (length("reservations"."idempotency_key") BETWEEN 1 AND 255)
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "held" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reservations_open_expiry_idx" ON "reservations" USING btree ("expires_at") WHERE "reservations"."state" = 'held';--> statement-breakpoint
CREATE INDEX "reservations_org_account_open_idx" ON "reservations" USING btree ("org_id","account_id") WHERE "reservations"."state" = 'held';--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_held" CHECK ("accounts"."held" >= 0 AND ("accounts"."kind" = 'wallet' OR "accounts"."held" = 0));--> statement-breakpoint
-- Reservations (TigerBeetle's two-phase transfers: pending, then post or void). A wallet's `held` is
-- the sum of its open reservations; what it can still reserve or move is `balance - held`, its
-- available. allot_post below is 0002's with one change: a debit that is not usage may not take a
-- wallet's available below zero (it read the balance alone), so a grant reversal cannot take tokens
-- that a call in flight holds.
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
  OUT o_status text,
  OUT o_ids bigint[],
  OUT o_account bigint,
  OUT o_created_at timestamptz
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_hash text;
  -- The touched accounts in ascending id (the lock order) and the net change of each.
  v_accounts bigint[];
  v_deltas bigint[];
  v_locked bigint[];
  v_kinds text[];
  v_balances bigint[];
  v_helds bigint[];
  -- Fast path: the one transfer, and its two accounts in lock order.
  v_debit bigint;
  v_credit bigint;
  v_amount bigint;
  v_first bigint;
  v_second bigint;
  v_id bigint;
BEGIN
  -- Every posted operation has a leg 1; its key decides between exists and conflict.
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
     AND p_reverses IS NULL AND p_debits[1] <> p_credits[1] THEN
    v_debit := p_debits[1];
    v_credit := p_credits[1];
    v_amount := p_amounts[1];
    v_first := least(v_debit, v_credit);
    v_second := greatest(v_debit, v_credit);
    -- The overdraft rules of the general path (LEDGER.md I3, I4), as a condition on the debited row.
    UPDATE accounts a
       SET balance = a.balance + CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
     WHERE a.org_id = p_org AND a.id = v_first
       AND (a.id = v_credit OR a.balance - a.held >= v_amount OR a.kind = 'treasury' OR (a.kind = 'wallet' AND p_code = 'usage'));
    IF FOUND THEN
      UPDATE accounts a
         SET balance = a.balance + CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
       WHERE a.org_id = p_org AND a.id = v_second
         AND (a.id = v_credit OR a.balance - a.held >= v_amount OR a.kind = 'treasury' OR (a.kind = 'wallet' AND p_code = 'usage'));
      IF FOUND THEN
        INSERT INTO transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                               amount, code, actor_member_id, platform, memo)
        VALUES (p_org, p_key, 1, p_hash, v_debit, v_credit, v_amount, p_code, p_actor, p_platform, p_memo)
        RETURNING id, created_at INTO v_id, o_created_at;
        o_ids := ARRAY[v_id];
        o_status := 'ok';
        RETURN;
      END IF;
      -- Undo the first update (its row stays locked, as the general path would lock it first).
      UPDATE accounts a
         SET balance = a.balance - CASE WHEN a.id = v_debit THEN -v_amount ELSE v_amount END
       WHERE a.org_id = p_org AND a.id = v_first;
    END IF;
  END IF;

  SELECT array_agg(acc ORDER BY acc), array_agg(delta ORDER BY acc) INTO v_accounts, v_deltas
    FROM (
      SELECT acc, sum(delta)::bigint AS delta FROM (
        SELECT d AS acc, -amt AS delta FROM unnest(p_debits, p_amounts) AS x(d, amt)
        UNION ALL
        SELECT c, amt FROM unnest(p_credits, p_amounts) AS y(c, amt)
      ) moves GROUP BY acc
    ) net;

  SELECT array_agg(id ORDER BY id), array_agg(kind ORDER BY id), array_agg(balance ORDER BY id),
         array_agg(held ORDER BY id)
    INTO v_locked, v_kinds, v_balances, v_helds
    FROM (
      SELECT id, kind, balance, held FROM accounts
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
  END IF;

  -- Overdraft rules (LEDGER.md I3, I4): the treasury may go negative; a wallet only through usage.
  -- Tokens held by open reservations are not there to move: the rule reads balance - held.
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
   WHERE a.org_id = p_org AND a.id = n.acc;

  WITH inserted AS (
    INSERT INTO transfers (org_id, operation_key, leg, request_hash, debit_account_id, credit_account_id,
                           amount, code, actor_member_id, platform, memo, reverses_transfer_id)
    SELECT p_org, p_key, m.leg::smallint, p_hash, m.d, m.c, m.amt, p_code, p_actor, p_platform, p_memo, p_reverses
      FROM unnest(p_debits, p_credits, p_amounts) WITH ORDINALITY AS m(d, c, amt, leg)
    RETURNING id, leg, created_at
  )
  SELECT array_agg(id ORDER BY leg), min(created_at) INTO o_ids, o_created_at FROM inserted;
  o_status := 'ok';
END;
$$;
--> statement-breakpoint
-- A reservation changes state once, from held to settled, released or expired, and nothing else of it
-- ever changes; it is never deleted (the audit counts on its history).
CREATE OR REPLACE FUNCTION allot_guard_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.state <> 'held' OR NEW.state = 'held'
     OR NEW.org_id <> OLD.org_id OR NEW.idempotency_key <> OLD.idempotency_key
     OR NEW.request_hash <> OLD.request_hash OR NEW.member_id <> OLD.member_id
     OR NEW.account_id <> OLD.account_id OR NEW.amount <> OLD.amount THEN
    RAISE EXCEPTION 'a reservation resolves once: % of reservation % (%) is refused', TG_OP, OLD.id, OLD.state
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER reservations_resolve_once
  BEFORE UPDATE OR DELETE ON reservations
  FOR EACH ROW EXECUTE FUNCTION allot_guard_reservation();
--> statement-breakpoint
-- Holds `p_amount` on a member's wallet in one round trip, when its available covers it. The member is
-- named as the gateway named them: p_user_kind 'email' (lower-cased), 'slack' (user id) or 'teams'
-- (Entra object id), each one probe of a unique index. Statuses:
--   ok | exists (same key, same body: the first answer, its available included) | conflict (same key, other body)
--   | insufficient (o_available says how much is free) | unknown_user | member_inactive.
-- The hold is a conditional update of the wallet row, so concurrent reservations on one wallet queue
-- on its row lock and each re-reads the row it waited for: together they never hold more than the
-- available (READ COMMITTED re-checks the WHERE clause on the newest row version). A concurrent twin
-- with the same key loses on the unique key; the caller retries and sees `exists`.
CREATE OR REPLACE FUNCTION allot_reserve(
  p_org bigint,
  p_key text,
  p_hash text,
  p_user_kind text,
  p_user_value text,
  p_user_ref text,
  p_amount bigint,
  p_model text,
  p_now timestamptz,
  p_expires_at timestamptz,
  OUT o_status text,
  OUT o_id bigint,
  OUT o_state text,
  OUT o_amount bigint,
  OUT o_expires_at timestamptz,
  OUT o_created_at timestamptz,
  OUT o_available bigint,
  OUT o_member bigint
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_hash text;
  v_account bigint;
  v_active boolean;
BEGIN
  IF p_user_kind = 'email' THEN
    SELECT m.id, m.is_active INTO o_member, v_active FROM members m WHERE m.org_id = p_org AND m.email = p_user_value;
  ELSE
    SELECT m.id, m.is_active INTO o_member, v_active
      FROM member_identities i JOIN members m ON m.org_id = i.org_id AND m.id = i.member_id
     WHERE i.org_id = p_org AND i.platform = p_user_kind AND i.external_id = p_user_value;
  END IF;
  IF o_member IS NULL THEN
    o_status := 'unknown_user';
    RETURN;
  END IF;

  -- A repeat answers as the first call did, `available` included (the first answer's, stored with it).
  SELECT r.request_hash, r.id, r.state, r.amount, r.expires_at, r.created_at, r.available_after
    INTO v_hash, o_id, o_state, o_amount, o_expires_at, o_created_at, o_available
    FROM reservations r
   WHERE r.org_id = p_org AND r.idempotency_key = p_key;
  IF FOUND THEN
    o_status := CASE WHEN v_hash = p_hash THEN 'exists' ELSE 'conflict' END;
    RETURN;
  END IF;
  IF NOT v_active THEN
    o_status := 'member_inactive';
    RETURN;
  END IF;

  UPDATE accounts a
     SET held = a.held + p_amount
   WHERE a.org_id = p_org AND a.kind = 'wallet' AND a.member_id = o_member
     AND a.balance - a.held >= p_amount
  RETURNING a.id, a.balance - a.held INTO v_account, o_available;
  IF NOT FOUND THEN
    SELECT a.id, a.balance - a.held INTO v_account, o_available
      FROM accounts a WHERE a.org_id = p_org AND a.kind = 'wallet' AND a.member_id = o_member;
    o_status := CASE WHEN v_account IS NULL THEN 'unknown_user' ELSE 'insufficient' END;
    RETURN;
  END IF;

  INSERT INTO reservations (org_id, idempotency_key, request_hash, member_id, user_ref, account_id, amount,
                            model, expires_at, created_at, available_after)
  VALUES (p_org, p_key, p_hash, o_member, p_user_ref, v_account, p_amount, p_model, p_expires_at, p_now, o_available)
  RETURNING id, state, amount, expires_at, created_at INTO o_id, o_state, o_amount, o_expires_at, o_created_at;
  o_status := 'ok';
END;
$$;
--> statement-breakpoint
-- Resolves one open reservation to p_state (settled or released) and frees its hold, in one round
-- trip. Statuses: ok | already_resolved (o_state says how it was resolved) | not_found. The
-- conditional update `WHERE state = 'held'` makes the first resolution the only one.
CREATE OR REPLACE FUNCTION allot_resolve_reservation(
  p_org bigint,
  p_id bigint,
  p_state text,
  p_now timestamptz,
  p_usage_event text,
  OUT o_status text,
  OUT o_state text,
  OUT o_amount bigint,
  OUT o_resolved_at timestamptz,
  OUT o_usage_event text
) LANGUAGE plpgsql AS $$
DECLARE
  v_account bigint;
BEGIN
  UPDATE reservations r
     SET state = p_state, resolved_at = p_now, usage_event_id = p_usage_event
   WHERE r.org_id = p_org AND r.id = p_id AND r.state = 'held'
  RETURNING r.state, r.amount, r.account_id, r.resolved_at, r.usage_event_id
    INTO o_state, o_amount, v_account, o_resolved_at, o_usage_event;
  IF FOUND THEN
    UPDATE accounts a SET held = a.held - o_amount WHERE a.org_id = p_org AND a.id = v_account;
    o_status := 'ok';
    RETURN;
  END IF;
  SELECT r.state, r.amount, r.resolved_at, r.usage_event_id INTO o_state, o_amount, o_resolved_at, o_usage_event
    FROM reservations r WHERE r.org_id = p_org AND r.id = p_id;
  o_status := CASE WHEN FOUND THEN 'already_resolved' ELSE 'not_found' END;
END;
$$;
--> statement-breakpoint
-- The sweeper: expires up to p_limit reservations whose deadline has passed and frees their holds, in
-- one statement. Replicas may sweep at once: SKIP LOCKED gives each due row to one of them, and the
-- conditional update gives each reservation at most one resolution whatever else runs.
CREATE OR REPLACE FUNCTION allot_expire_reservations(p_now timestamptz, p_limit integer)
RETURNS TABLE (org_id bigint, id bigint, member_id bigint, amount bigint) LANGUAGE sql AS $$
  WITH due AS (
    SELECT r.org_id, r.id FROM reservations r
     WHERE r.state = 'held' AND r.expires_at <= p_now
     ORDER BY r.expires_at
     LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), expired AS (
    UPDATE reservations r SET state = 'expired', resolved_at = p_now
      FROM due WHERE r.org_id = due.org_id AND r.id = due.id AND r.state = 'held'
    RETURNING r.org_id, r.id, r.member_id, r.account_id, r.amount
  ), freed AS (
    UPDATE accounts a SET held = a.held - s.total
      FROM (SELECT e.org_id, e.account_id, sum(e.amount)::bigint AS total FROM expired e GROUP BY 1, 2) s
     WHERE a.org_id = s.org_id AND a.id = s.account_id
    RETURNING a.id
  )
  SELECT e.org_id, e.id, e.member_id, e.amount FROM expired e;
$$;
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
  OUT o_account bigint
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
  FOR v_row IN
    SELECT * FROM allot_ingest_usage(p_org, v_zone, v_usage, p_platform, p_now,
      jsonb_build_array(p_event || jsonb_build_object('idx', 0, 'member_id', o_member::text, 'wallet_id', o_account::text)))
  LOOP
    IF v_row.o_kind = 'event' THEN
      o_event := v_row.o_status;
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
    UPDATE accounts a SET held = a.held - o_amount WHERE a.org_id = p_org AND a.id = o_account;
    o_state := 'settled';
  END IF;
  o_status := 'ok';
END;
$$;

ALTER TABLE "transfers" DROP CONSTRAINT "transfers_org_id_debit_account_id_accounts_org_id_id_fk";
--> statement-breakpoint
ALTER TABLE "transfers" DROP CONSTRAINT "transfers_org_id_credit_account_id_accounts_org_id_id_fk";
--> statement-breakpoint
-- Without foreign keys from transfers, nothing else would stop an account that transfers point at from
-- being deleted. Accounts are part of the ledger's history: like transfers, they are never deleted.
CREATE OR REPLACE FUNCTION allot_refuse_account_removal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'accounts are never removed: % is refused; the ledger''s transfers point at them', TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER accounts_never_deleted
  BEFORE DELETE ON accounts
  FOR EACH ROW EXECUTE FUNCTION allot_refuse_account_removal();
--> statement-breakpoint
CREATE TRIGGER accounts_no_truncate
  BEFORE TRUNCATE ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION allot_refuse_account_removal();

ALTER TABLE "usage_daily_rollups" DROP CONSTRAINT "usage_daily_rollups_org_id_member_id_members_org_id_id_fk";
--> statement-breakpoint
ALTER TABLE "usage_events" DROP CONSTRAINT "usage_events_org_id_member_id_members_org_id_id_fk";

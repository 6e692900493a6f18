-- Teams redeliveries are now recorded in inbound_deliveries beside Slack's (one dedupe store, src/chat/chat.repository.ts).
-- The rows here were dedupe keys kept for a week at most, so nothing is moved: a Teams activity redelivered
-- across this migration would run again, and Teams stops redelivering within minutes.
DROP TABLE "teams_processed_activities" CASCADE;

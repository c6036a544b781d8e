-- Ticket reference numbers come from one sequence per listing instead of a counter column.
-- The counter row stayed locked until the creating transaction committed, so ticket creation in
-- a listing ran one at a time (~100/s). nextval() never blocks; a number is lost only when a
-- create fails after taking it, so references stay unique and increasing, with rare gaps.
ALTER TABLE listings ADD COLUMN ref_sequence text UNIQUE;

DO $$
DECLARE
  listing record;
  sequence_name text;
BEGIN
  FOR listing IN SELECT id, ticket_seq FROM listings LOOP
    sequence_name := 'ticket_ref_' || substr(md5(listing.id), 1, 16);
    EXECUTE format('CREATE SEQUENCE %I START WITH %s', sequence_name, listing.ticket_seq + 1);
    UPDATE listings SET ref_sequence = sequence_name WHERE id = listing.id;
  END LOOP;
END $$;

ALTER TABLE listings ALTER COLUMN ref_sequence SET NOT NULL;
ALTER TABLE listings DROP COLUMN ticket_seq;

-- (ticket_id, seq) is unique and serves every thread lookup; the second index only cost inserts.
DROP INDEX messages_by_ticket;

-- Every message updates its ticket's counter and timestamps, none of them indexed. With free
-- space left in each page PostgreSQL can make those heap-only (HOT) updates, which touch none of
-- the ticket's seven indexes; at the default fillfactor of 100 every update wrote a new entry
-- into each of them.
ALTER TABLE tickets SET (fillfactor = 70);

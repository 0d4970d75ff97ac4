-- The official's mute is part of an entry's stored state, so it holds through a reload, a
-- renegotiation or a move to another node until the official lifts it. Removal and
-- cancellation are new entry statuses ('removed', 'cancelled'): the status column is free text,
-- and neither is an active place, so the partial unique index on active places is unchanged.
ALTER TABLE entries ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;

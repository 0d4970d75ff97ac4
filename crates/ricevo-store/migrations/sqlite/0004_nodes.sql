-- Liveness of the server nodes sharing this database: each node refreshes its row every few
-- seconds (ricevo_core::nodes). A meeting whose node stopped doing so moves to a live node.
CREATE TABLE nodes (
    -- The node's own address (its RICEVO_NODE_URL), as meetings.node names it.
    url TEXT PRIMARY KEY,
    -- Its last heartbeat, in milliseconds since the Unix epoch.
    last_seen_ms INTEGER NOT NULL
);

-- (telegram, issue 15) Booking through a Telegram bot.
-- One row per chat and bot: where the conversation stands (ricevo_core::chat_booking's
-- Conversation as JSON), its language, and when it lapses (an abandoned booking does not
-- linger). `bot` names the bot: `town:<tenant id>` for a town's own bot, `instance` for
-- the instance-wide one (whose chats choose their town, kept in tenant_id).
CREATE TABLE telegram_chats (
    bot TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    tenant_id INTEGER REFERENCES tenants(id),
    state TEXT NOT NULL,
    lang TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (bot, chat_id)
);
-- The updates each bot has handled: Telegram may deliver one twice (a webhook retried, a
-- replay), and a replay must change nothing. Pruned after a week.
CREATE TABLE telegram_updates (
    bot TEXT NOT NULL,
    update_id INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (bot, update_id)
);
CREATE INDEX telegram_updates_received ON telegram_updates(received_at);

-- Channels for messages (issue 15): how a town reaches its citizens besides e-mail (App IO,
-- SMS through the town's gateway, Telegram), and the Telegram chats citizens book from.

-- One row per town, written by its administrators. Keys and passwords are stored as given
-- (the outbox worker needs them to send); pages never show them back in full.
-- channel_order: channel names separated by commas, the town's order of preference.
-- sms_method: get, post_form or post_json.
CREATE TABLE town_channels (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id),
    channel_order TEXT NOT NULL DEFAULT 'app_io,email,sms,telegram',
    app_io_enabled INTEGER NOT NULL DEFAULT 0,
    app_io_key TEXT,
    sms_enabled INTEGER NOT NULL DEFAULT 0,
    sms_url TEXT NOT NULL DEFAULT '',
    sms_method TEXT NOT NULL DEFAULT 'post_form',
    sms_username TEXT,
    sms_password TEXT,
    sms_to_field TEXT NOT NULL DEFAULT 'to',
    sms_text_field TEXT NOT NULL DEFAULT 'text',
    sms_sender_field TEXT NOT NULL DEFAULT 'from',
    sms_sender TEXT NOT NULL DEFAULT '',
    telegram_enabled INTEGER NOT NULL DEFAULT 0,
    telegram_bot_token TEXT,
    telegram_webhook_secret TEXT,
    updated_at BIGINT NOT NULL
);

-- The chat of a citizen who booked through the town's Telegram bot (messages about the
-- appointment go there too), and a walk-in ticket's phone number and chat.
ALTER TABLE appointments ADD COLUMN telegram_chat_id BIGINT;
ALTER TABLE entries ADD COLUMN phone TEXT;
ALTER TABLE entries ADD COLUMN telegram_chat_id BIGINT;

//! What Telegram sends a bot (an `Update`, by webhook or `getUpdates`), read into the chat
//! inputs of `ricevo_core::chat_booking`, and the bot's keyboards written as Bot API JSON.
//! Only private chats are read: a booking in a group would show one citizen's data to others.

use ricevo_core::chat_booking::Input;
use ricevo_core::chat_booking::texts::Keyboard;
use serde::Deserialize;
use serde_json::{Value, json};

/// An incoming update, as far as the bot reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    /// Its id: increasing, unique per bot (replays are recognised by it).
    pub update_id: i64,
    /// A new message.
    #[serde(default)]
    pub message: Option<Message>,
    /// A button pressed.
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
}

/// A message.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    /// The chat it is in.
    pub chat: Chat,
    /// Its sender.
    #[serde(default)]
    pub from: Option<User>,
    /// Its text.
    #[serde(default)]
    pub text: Option<String>,
    /// A shared contact.
    #[serde(default)]
    pub contact: Option<Contact>,
}

/// A chat.
#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    /// Its id.
    pub id: i64,
    /// `private`, `group`, `supergroup` or `channel`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A user.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Their id.
    pub id: i64,
    /// Their app's language (IETF tag), if known.
    #[serde(default)]
    pub language_code: Option<String>,
}

/// A contact shared in a message.
#[derive(Debug, Clone, Deserialize)]
pub struct Contact {
    /// The phone number.
    pub phone_number: String,
    /// The contact's Telegram user id, if they are a user.
    #[serde(default)]
    pub user_id: Option<i64>,
}

/// A button pressed under a message of the bot.
#[derive(Debug, Clone, Deserialize)]
pub struct CallbackQuery {
    /// Its id, to answer it (`answerCallbackQuery`).
    pub id: String,
    /// Who pressed.
    pub from: User,
    /// The message the button was under (absent for very old messages).
    #[serde(default)]
    pub message: Option<Message>,
    /// The button's callback data.
    #[serde(default)]
    pub data: Option<String>,
}

/// An update read for the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatInput {
    /// The update's id.
    pub update_id: i64,
    /// The private chat.
    pub chat_id: i64,
    /// The sender's language.
    pub language_code: Option<String>,
    /// What they did.
    pub input: Input,
    /// The callback query to answer, for a button.
    pub callback_query_id: Option<String>,
}

impl Update {
    /// The chat input this update carries: `None` for anything the bot does not read (other
    /// kinds of update, groups and channels, a message with neither text nor contact).
    pub fn chat_input(&self) -> Option<ChatInput> {
        if let Some(q) = &self.callback_query {
            let chat = q.message.as_ref()?.chat.clone();
            if chat.kind != "private" {
                return None;
            }
            return Some(ChatInput {
                update_id: self.update_id,
                chat_id: chat.id,
                language_code: q.from.language_code.clone(),
                input: Input::Button(q.data.clone().unwrap_or_default()),
                callback_query_id: Some(q.id.clone()),
            });
        }
        let m = self.message.as_ref()?;
        if m.chat.kind != "private" {
            return None;
        }
        let input = match (&m.text, &m.contact) {
            (Some(text), _) => Input::Text(text.clone()),
            (None, Some(c)) => Input::Contact {
                phone: c.phone_number.clone(),
                own: c.user_id.is_some() && c.user_id == m.from.as_ref().map(|u| u.id),
            },
            (None, None) => return None,
        };
        Some(ChatInput {
            update_id: self.update_id,
            chat_id: m.chat.id,
            language_code: m.from.as_ref().and_then(|u| u.language_code.clone()),
            input,
            callback_query_id: None,
        })
    }
}

/// The Bot API `reply_markup` of a keyboard (`None`: no keyboard).
pub fn reply_markup(keyboard: &Keyboard) -> Option<Value> {
    match keyboard {
        Keyboard::None => None,
        Keyboard::Inline(rows) => Some(json!({
            "inline_keyboard": rows.iter().map(|row| row.iter().map(|b| json!({
                "text": b.label, "callback_data": b.data.encode(),
            })).collect::<Vec<_>>()).collect::<Vec<_>>(),
        })),
        Keyboard::ShareContact(label) => Some(json!({
            "keyboard": [[{ "text": label, "request_contact": true }]],
            "one_time_keyboard": true,
            "resize_keyboard": true,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: Value) -> Option<ChatInput> {
        serde_json::from_value::<Update>(v).ok()?.chat_input()
    }

    #[test]
    fn private_texts_buttons_and_own_contacts_are_read_and_groups_are_not() {
        let text = json!({"update_id": 5, "message": {"chat": {"id": 9, "type": "private"},
            "from": {"id": 9, "language_code": "en"}, "text": "/start"}});
        let got = read(text).expect("read");
        assert_eq!(
            (got.chat_id, got.input, got.language_code.as_deref()),
            (9, Input::Text("/start".into()), Some("en"))
        );
        let group = json!({"update_id": 6, "message": {"chat": {"id": -9, "type": "group"}, "text": "/start"}});
        assert_eq!(read(group), None);
        let button = json!({"update_id": 7, "callback_query": {"id": "q", "from": {"id": 9},
            "message": {"chat": {"id": 9, "type": "private"}}, "data": "1b:"}});
        let got = read(button).expect("read");
        assert_eq!((got.input, got.callback_query_id.as_deref()), (Input::Button("1b:".into()), Some("q")));
        let other = json!({"update_id": 8, "message": {"chat": {"id": 9, "type": "private"}, "from": {"id": 9},
            "contact": {"phone_number": "+39333", "user_id": 10}}});
        assert_eq!(read(other).expect("read").input, Input::Contact { phone: "+39333".into(), own: false });
        assert_eq!(read(json!({"update_id": 9, "edited_message": {}})), None);
    }
}

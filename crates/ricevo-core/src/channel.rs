//! The channels a citizen can be told something on (e-mail, App IO, SMS, Telegram) and which of
//! them a message tries, in which order: the town's order of preference, the channels the town
//! enabled, and what the citizen gave. Pure: no I/O.

use serde::{Deserialize, Serialize};

use crate::Lang;

/// A way to reach a citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An e-mail (with a calendar invite for appointments).
    Email,
    /// A message in App IO, the national citizens' app (needs the fiscal code).
    AppIo,
    /// A text message through the town's SMS gateway.
    Sms,
    /// A message from the town's Telegram bot to the citizen's chat.
    Telegram,
}

impl Channel {
    /// Every channel, in the default order of preference.
    pub const ALL: [Channel; 4] = [Channel::AppIo, Channel::Email, Channel::Sms, Channel::Telegram];

    /// A stable name (`email`, `app_io`, `sms`, `telegram`), as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::AppIo => "app_io",
            Channel::Sms => "sms",
            Channel::Telegram => "telegram",
        }
    }

    /// Reads a stable name back.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    /// The channel's name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Channel::Email, Lang::It) => "E-mail",
            (Channel::Email, Lang::En) => "E-mail",
            (Channel::AppIo, _) => "App IO",
            (Channel::Sms, _) => "SMS",
            (Channel::Telegram, _) => "Telegram",
        }
    }
}

/// Reads an order of preference written as names separated by commas (`app_io,email,sms`):
/// unknown names and repeats are dropped, and channels not named are appended in the default
/// order, so every channel has a place.
pub fn parse_order(s: &str) -> Vec<Channel> {
    let mut order: Vec<Channel> = Vec::new();
    for c in s.split(',').filter_map(Channel::parse) {
        if !order.contains(&c) {
            order.push(c);
        }
    }
    for c in Channel::ALL {
        if !order.contains(&c) {
            order.push(c);
        }
    }
    order
}

/// Writes an order of preference as [`parse_order`] reads it.
pub fn order_to_string(order: &[Channel]) -> String {
    order.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
}

/// Why a phone number is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneNumberError {
    /// Not digits with the usual separators, or too few or too many digits.
    #[error("not a phone number")]
    NotANumber,
}

impl PhoneNumberError {
    /// The reason for people.
    pub fn message(self, lang: Lang) -> &'static str {
        match lang {
            Lang::It => {
                "Il numero di telefono non è valido: scrivi solo cifre, con il prefisso internazionale se non è italiano (per esempio +39 333 1234567)."
            }
            Lang::En => {
                "The phone number is not valid: write digits only, with the country code if it is not Italian (for example +39 333 1234567)."
            }
        }
    }
}

/// A phone number in international form (E.164): `+` and 8 to 15 digits, such as
/// `+393331234567`. Numbers written without a country code are Italian (`333 1234567` and
/// `0039 333 1234567` both read `+393331234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a number as people write it: digits, spaces, dots, dashes, slashes, brackets and a
    /// leading `+` or `00`.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let s = input.trim();
        if s.len() > 40 || !s.chars().all(|c| c.is_ascii_digit() || " .-/()+".contains(c)) {
            return Err(PhoneNumberError::NotANumber);
        }
        if s.rfind('+').is_some_and(|i| i > 0) {
            return Err(PhoneNumberError::NotANumber);
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let international = if s.starts_with('+') {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else {
            format!("39{digits}")
        };
        if !(8..=15).contains(&international.len()) || international.starts_with('0') {
            return Err(PhoneNumberError::NotANumber);
        }
        Ok(PhoneNumber(format!("+{international}")))
    }

    /// The number as `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+` (some gateways want them so).
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Telegram chat the town's bot may write to (the citizen started it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TelegramChat(pub i64);

/// What a citizen gave that a message can reach them on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    /// The e-mail address, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The phone number, when given and readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    /// The fiscal code (App IO finds the citizen by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_code: Option<String>,
    /// The Telegram chat, when the citizen booked through the bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram_chat: Option<TelegramChat>,
}

impl Reach {
    /// What a stored record holds: blank values count as not given, and a phone number that
    /// cannot be read is left out (no channel could use it).
    pub fn of(email: &str, phone: Option<&str>, fiscal_code: Option<&str>, telegram_chat: Option<i64>) -> Reach {
        let given = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Reach {
            email: given(Some(email)),
            phone: phone.and_then(|p| PhoneNumber::parse(p).ok()),
            fiscal_code: given(fiscal_code).map(|f| f.to_ascii_uppercase()),
            telegram_chat: telegram_chat.map(TelegramChat),
        }
    }

    /// Whether this channel could carry a message to the citizen.
    pub fn can_use(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::AppIo => self.fiscal_code.is_some(),
            Channel::Sms => self.phone.is_some(),
            Channel::Telegram => self.telegram_chat.is_some(),
        }
    }

    /// Whether no channel at all can reach the citizen.
    pub fn is_nowhere(&self) -> bool {
        Channel::ALL.into_iter().all(|c| !self.can_use(c))
    }
}

/// The channels to try, in the town's `order` of preference (channels missing from it come
/// last, in the default order), keeping those the town `enabled` (e-mail always is) and the
/// citizen can be reached on; each at most once.
pub fn route(order: &[Channel], enabled: &[Channel], reach: &Reach) -> Vec<Channel> {
    let mut tried = Vec::new();
    for channel in order.iter().copied().chain(Channel::ALL) {
        let on = channel == Channel::Email || enabled.contains(&channel);
        if on && reach.can_use(channel) && !tried.contains(&channel) {
            tried.push(channel);
        }
    }
    tried
}

// ---- text message lengths ----

/// The GSM 03.38 basic character set (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (an escape and one septet each: two).
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// How a text message is encoded, which decides how many characters fit in one SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsEncoding {
    /// The GSM 7-bit alphabet: 160 septets in one message, 153 per part of a longer one.
    Gsm7,
    /// UCS-2 (any other character): 70 characters in one message, 67 per part.
    Ucs2,
}

/// The septets a text takes in GSM-7, or `None` when a character is not in the alphabet.
pub fn gsm7_septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0, |n, c| {
        if GSM7_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM7_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

/// The encoding a text needs.
pub fn sms_encoding(text: &str) -> SmsEncoding {
    if gsm7_septets(text).is_some() { SmsEncoding::Gsm7 } else { SmsEncoding::Ucs2 }
}

/// How many SMS parts a text takes.
pub fn sms_parts(text: &str) -> usize {
    let (units, single, part) = match gsm7_septets(text) {
        Some(septets) => (septets, 160, 153),
        // UCS-2 counts UTF-16 code units.
        None => (text.encode_utf16().count(), 70, 67),
    };
    if units <= single { 1 } else { units.div_ceil(part) }
}

/// Replaces characters outside GSM-7 with their closest GSM-7 spelling where there is an obvious
/// one (typographic quotes and dashes, accented capitals Italian uses), so that a text keeps the
/// cheap encoding; what has no stand-in stays as it is.
pub fn to_gsm7(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '‘' | '’' | '′' => "'".to_owned(),
            '“' | '”' | '«' | '»' => "\"".to_owned(),
            '–' | '—' => "-".to_owned(),
            '…' => "...".to_owned(),
            '\u{a0}' => " ".to_owned(),
            'È' => "E'".to_owned(),
            'À' => "A'".to_owned(),
            'Ì' => "I'".to_owned(),
            'Ò' => "O'".to_owned(),
            'Ù' => "U'".to_owned(),
            'á' => "a".to_owned(),
            'í' => "i".to_owned(),
            'ó' => "o".to_owned(),
            'ú' => "u".to_owned(),
            'º' => "o".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reach(email: bool, phone: bool, cf: bool, tg: bool) -> Reach {
        Reach {
            email: email.then(|| "maria@example.org".to_owned()),
            phone: phone.then(|| PhoneNumber::parse("333 1234567").unwrap()),
            fiscal_code: cf.then(|| "RSSMRA80A41H501X".to_owned()),
            telegram_chat: tg.then_some(TelegramChat(42)),
        }
    }

    #[test]
    fn phone_numbers_are_normalised_to_international_form() {
        assert_eq!(PhoneNumber::parse("333 123 4567").unwrap().as_str(), "+393331234567");
        assert_eq!(PhoneNumber::parse("+39 333-123.4567").unwrap().as_str(), "+393331234567");
        assert_eq!(PhoneNumber::parse("0039 (333) 1234567").unwrap().as_str(), "+393331234567");
        assert_eq!(PhoneNumber::parse("+44 20 7946 0958").unwrap().as_str(), "+442079460958");
        assert_eq!(PhoneNumber::parse("055 123456").unwrap().digits(), "39055123456");
        for junk in ["", "abc", "12", "+39 333 12a4567", "3+33", "1234567890123456789", "+0123456789", "++39333"] {
            assert!(PhoneNumber::parse(junk).is_err(), "{junk:?}");
        }
        let json = serde_json::to_string(&PhoneNumber::parse("3331234567").unwrap()).unwrap();
        assert_eq!(json, "\"+393331234567\"");
        assert!(serde_json::from_str::<PhoneNumber>("\"nope\"").is_err());
    }

    #[test]
    fn the_route_follows_the_towns_order_and_skips_what_is_off_or_unknown() {
        let order = [Channel::AppIo, Channel::Sms, Channel::Email, Channel::Telegram];
        let all = [Channel::AppIo, Channel::Sms, Channel::Telegram];
        assert_eq!(route(&order, &all, &reach(true, true, true, true)), order.to_vec());
        // Only a phone number: SMS only.
        assert_eq!(route(&order, &all, &reach(false, true, false, false)), [Channel::Sms]);
        // App IO disabled by the town: skipped though the fiscal code is known.
        assert_eq!(route(&order, &[Channel::Sms], &reach(true, true, true, false)), [Channel::Sms, Channel::Email]);
        // E-mail is always enabled.
        assert_eq!(route(&order, &[], &reach(true, true, true, true)), [Channel::Email]);
        // Nothing given: nowhere.
        assert!(route(&order, &all, &Reach::default()).is_empty());
        assert!(Reach::default().is_nowhere());
        // An empty order still tries every channel, in the default order.
        assert_eq!(route(&[], &all, &reach(true, true, false, false)), [Channel::Email, Channel::Sms]);
    }

    #[test]
    fn orders_read_back_complete_without_repeats() {
        assert_eq!(
            parse_order("sms, sms,fax,email"),
            [Channel::Sms, Channel::Email, Channel::AppIo, Channel::Telegram]
        );
        assert_eq!(parse_order(""), Channel::ALL.to_vec());
        assert_eq!(parse_order(&order_to_string(&Channel::ALL)), Channel::ALL.to_vec());
        assert_eq!(serde_json::to_string(&Channel::AppIo).unwrap(), "\"app_io\"");
    }

    #[test]
    fn text_lengths_count_septets_or_utf16_units() {
        assert_eq!(gsm7_septets("Ciao è"), Some(6));
        assert_eq!(gsm7_septets("10 €"), Some(5), "the euro sign takes an escape");
        assert_eq!(gsm7_septets("Già"), Some(3));
        assert_eq!(gsm7_septets("È ora"), None, "a capital È is not in GSM-7");
        assert_eq!(sms_encoding(&to_gsm7("È ora – “sì”")), SmsEncoding::Gsm7);
        assert_eq!(sms_parts(&"a".repeat(160)), 1);
        assert_eq!(sms_parts(&"a".repeat(161)), 2);
        assert_eq!(sms_parts(&"€".repeat(80)), 1);
        assert_eq!(sms_parts(&"ш".repeat(70)), 1);
        assert_eq!(sms_parts(&"ш".repeat(71)), 2);
    }

    fn channel() -> impl Strategy<Value = Channel> {
        prop::sample::select(Channel::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn the_route_only_holds_usable_enabled_channels_once_each(
            order in prop::collection::vec(channel(), 0..6),
            enabled in prop::collection::vec(channel(), 0..4),
            e in any::<bool>(), p in any::<bool>(), f in any::<bool>(), t in any::<bool>(),
        ) {
            let r = reach(e, p, f, t);
            let got = route(&order, &enabled, &r);
            for (i, c) in got.iter().enumerate() {
                prop_assert!(r.can_use(*c));
                prop_assert!(*c == Channel::Email || enabled.contains(c));
                prop_assert!(!got[..i].contains(c));
            }
            // Every usable enabled channel is tried: none is forgotten.
            for c in Channel::ALL {
                if r.can_use(c) && (c == Channel::Email || enabled.contains(&c)) {
                    prop_assert!(got.contains(&c));
                }
            }
            // The town's order is kept among the channels it names.
            let named: Vec<Channel> = got.iter().copied().filter(|c| order.contains(c)).collect();
            let mut firsts: Vec<Channel> = Vec::new();
            for c in &order { if !firsts.contains(c) && named.contains(c) { firsts.push(*c); } }
            prop_assert_eq!(named, firsts);
        }

        #[test]
        fn any_parsed_phone_number_is_plus_and_digits(s in "[+0-9 ().-]{0,30}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert!(p.as_str().starts_with('+'));
                prop_assert!(p.digits().chars().all(|c| c.is_ascii_digit()));
                prop_assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p.clone()));
            }
        }
    }
}

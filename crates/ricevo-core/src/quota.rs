//! How many appointments one citizen may hold at once for one service, and how a citizen is
//! recognised: by e-mail, phone or codice fiscale, each normalised so that `Maria.Rossi@x.it`,
//! `maria.rossi+2@x.it` and `+39 333 1234567` / `3331234567` count as the same person.
//!
//! The count itself is the store's (in the booking's transaction, so two concurrent bookings
//! cannot both pass); the rule and the keys are here.

use crate::citizen::Citizen;

/// At most this many active appointments per citizen and service, unless configured.
pub const DEFAULT_MAX_ACTIVE: u16 = 2;

/// The limit on a citizen's active (booked or checked-in, not yet ended) appointments for one
/// service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitizenQuota {
    max: u16,
}

impl CitizenQuota {
    /// A limit of `max` (at least 1: a limit of 0 would forbid booking at all).
    pub fn new(max: u16) -> CitizenQuota {
        CitizenQuota { max: max.max(1) }
    }

    /// The most active appointments allowed.
    pub fn max(self) -> u16 {
        self.max
    }

    /// Whether a citizen who already holds `active` appointments may book one more.
    pub fn allows(self, active: u64) -> bool {
        active < u64::from(self.max)
    }
}

impl Default for CitizenQuota {
    fn default() -> Self {
        CitizenQuota::new(DEFAULT_MAX_ACTIVE)
    }
}

/// The keys a citizen is recognised by (`email:…`, `phone:…`, `cf:…`), normalised.
pub fn citizen_keys(c: &Citizen) -> Vec<String> {
    let mut keys: Vec<String> = c.email.iter().map(|e| format!("email:{}", normal_email(e.as_str()))).collect();
    if let Some(p) = &c.phone {
        let digits = normal_phone(p.as_str());
        if !digits.is_empty() {
            keys.push(format!("phone:{digits}"));
        }
    }
    if let Some(cf) = &c.fiscal_code {
        keys.push(format!("cf:{}", cf.as_str().to_ascii_uppercase()));
    }
    keys
}

/// An e-mail address as the person behind it: lowercase, without a `+tag`, and for Gmail
/// without the dots Gmail ignores.
pub fn normal_email(email: &str) -> String {
    let lower = email.trim().to_lowercase();
    let Some((local, domain)) = lower.rsplit_once('@') else { return lower };
    let local = local.split('+').next().unwrap_or(local);
    let (local, domain) = match domain {
        "gmail.com" | "googlemail.com" => (local.replace('.', ""), "gmail.com"),
        _ => (local.to_owned(), domain),
    };
    format!("{local}@{domain}")
}

/// A phone number as its digits, without Italy's international prefix (`+39`, `0039`).
pub fn normal_phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let international = phone.trim_start().starts_with('+');
    let national = if international {
        digits.strip_prefix("39").map(str::to_owned)
    } else {
        digits.strip_prefix("0039").map(str::to_owned)
    };
    match national {
        // An Italian number has 6 to 11 digits after the prefix.
        Some(n) if (6..=11).contains(&n.len()) => n,
        _ if international => format!("+{digits}"),
        _ => digits,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::FiscalCode;
    use crate::text::{Email, PersonName, Phone};

    fn citizen(email: &str, phone: Option<&str>, cf: Option<&str>) -> Citizen {
        Citizen {
            name: PersonName::parse("Maria Rossi").unwrap(),
            email: Some(Email::parse(email).unwrap()),
            phone: phone.map(|p| Phone::parse(p).unwrap()),
            fiscal_code: cf.map(|c| FiscalCode::parse(c).unwrap()),
        }
    }

    #[test]
    fn the_same_person_written_differently_has_the_same_keys() {
        let a = citizen("Maria.Rossi+prenota@Example.IT", Some("+39 333 123 4567"), Some("rssmra85t10a562s"));
        let b = citizen("maria.rossi@example.it", Some("333-1234567"), Some("RSSMRA85T10A562S"));
        assert_eq!(citizen_keys(&a), citizen_keys(&b));
        assert_eq!(citizen_keys(&b), vec!["email:maria.rossi@example.it", "phone:3331234567", "cf:RSSMRA85T10A562S"]);
        assert_eq!(normal_email("m.a.r.i.a+1@googlemail.com"), "maria@gmail.com");
        assert_eq!(normal_phone("0039 06 1234567"), "061234567");
        assert_eq!(normal_phone("+44 20 7946 0958"), "+442079460958", "a foreign number keeps its prefix");
    }

    #[test]
    fn different_people_have_different_keys() {
        let a = citizen("maria@example.it", None, None);
        let b = citizen("mario@example.it", None, None);
        assert_ne!(citizen_keys(&a), citizen_keys(&b));
        assert_eq!(citizen_keys(&a), vec!["email:maria@example.it"]);
    }

    #[test]
    fn the_quota_allows_up_to_its_maximum_and_never_zero() {
        let q = CitizenQuota::default();
        assert_eq!(q.max(), 2);
        assert!(q.allows(0) && q.allows(1) && !q.allows(2));
        assert_eq!(CitizenQuota::new(0).max(), 1);
    }
}

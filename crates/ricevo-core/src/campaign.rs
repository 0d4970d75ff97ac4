//! Survey campaigns by e-mail: the contact list a town imports from a spreadsheet (CSV), and
//! the life of a campaign (draft, running, paused, finished). Pure: bytes in, decisions out.
//!
//! Italian spreadsheets export CSV with `;` (the comma is the decimal separator) and often a
//! byte-order mark; English ones with `,`. Both are read, with or without a header row, and
//! every line that cannot be imported is reported with its number and the reason, so staff
//! can fix the file instead of guessing.

use std::collections::HashMap;

use jiff::civil::Date;
use serde::Serialize;

use crate::Lang;
use crate::text::Email;

/// Most lines one import reads (Prato's list has 34,000; room for a large town).
pub const MAX_LINES: usize = 200_000;
/// Longest name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// One contact read from the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactRow {
    /// The line of the file it came from (1 is the first line).
    pub line: usize,
    /// The address, checked.
    pub email: Email,
    /// The name (may be empty).
    pub name: String,
    /// When the person consented to be contacted.
    pub consent_date: Date,
    /// The language of their e-mails.
    pub lang: Lang,
}

/// Why a line is not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Refusal {
    /// The e-mail address is missing or not an address.
    BadEmail,
    /// No consent date: without consent nobody is written to.
    MissingConsent,
    /// The consent date is not a date (`2024-03-01` or `01/03/2024`).
    BadConsentDate,
    /// The language is neither Italian nor English.
    BadLanguage,
    /// The name is longer than [`MAX_NAME_CHARS`] or has control characters.
    BadName,
    /// The same address appeared on an earlier line (its number).
    Duplicate(usize),
    /// The line is not valid CSV or not UTF-8 text.
    Unreadable,
}

impl Refusal {
    /// The reason in words.
    pub fn message(&self, lang: Lang) -> String {
        let it = lang == Lang::It;
        match self {
            Refusal::BadEmail => {
                if it { "indirizzo e-mail mancante o non valido" } else { "missing or invalid e-mail address" }.into()
            }
            Refusal::MissingConsent => {
                if it { "manca la data del consenso" } else { "the consent date is missing" }.into()
            }
            Refusal::BadConsentDate => if it {
                "data del consenso non valida (scrivi 2024-03-01 o 01/03/2024)"
            } else {
                "invalid consent date (write 2024-03-01 or 01/03/2024)"
            }
            .into(),
            Refusal::BadLanguage => {
                if it { "lingua non riconosciuta (it o en)" } else { "unknown language (it or en)" }.into()
            }
            Refusal::BadName => if it {
                "nome troppo lungo o con caratteri non ammessi"
            } else {
                "name too long or with forbidden characters"
            }
            .into(),
            Refusal::Duplicate(first) => {
                if it {
                    format!("indirizzo già presente alla riga {first}")
                } else {
                    format!("address already on line {first}")
                }
            }
            Refusal::Unreadable => if it {
                "riga non leggibile (testo non UTF-8 o virgolette non chiuse)"
            } else {
                "unreadable line (not UTF-8 text or an unclosed quote)"
            }
            .into(),
        }
    }
}

/// A line that is not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedLine {
    /// Its number in the file (1 is the first line).
    pub line: usize,
    /// Why.
    pub reason: Refusal,
}

/// What a file holds: the contacts to import and the lines refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContactImport {
    /// Whether the first line was taken as a header.
    pub header: bool,
    /// The separator found (`;` or `,`).
    pub separator: char,
    /// The contacts, in file order, each address once.
    pub contacts: Vec<ContactRow>,
    /// Every refused line, in file order.
    pub refused: Vec<RefusedLine>,
}

/// Why a whole file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Nothing in it.
    #[error("empty file")]
    Empty,
    /// A header row without an e-mail column.
    #[error("no e-mail column")]
    NoEmailColumn,
    /// More than [`MAX_LINES`] lines.
    #[error("too many lines")]
    TooManyLines,
}

impl ImportError {
    /// The reason in words.
    pub fn message(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ImportError::Empty, Lang::It) => "Il file è vuoto.",
            (ImportError::Empty, Lang::En) => "The file is empty.",
            (ImportError::NoEmailColumn, Lang::It) => {
                "La prima riga ha delle intestazioni, ma nessuna colonna si chiama \"email\"."
            }
            (ImportError::NoEmailColumn, Lang::En) => "The first line has headers, but no column is called \"email\".",
            (ImportError::TooManyLines, Lang::It) => "Il file ha più di 200.000 righe: dividilo in più file.",
            (ImportError::TooManyLines, Lang::En) => {
                "The file has more than 200,000 lines: split it into several files."
            }
        }
    }
}

/// The columns a contact is read from.
#[derive(Debug, Clone, Copy)]
struct Columns {
    email: usize,
    name: Option<usize>,
    consent: Option<usize>,
    lang: Option<usize>,
}

/// Which column a header names, in Italian or English.
fn header_of(cell: &str) -> Option<&'static str> {
    let key: String = cell.trim().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    Some(match key.as_str() {
        "email" | "mail" | "posta" | "postaelettronica" | "indirizzoemail" | "emailaddress" | "indirizzo" => "email",
        "nome" | "name" | "nominativo" | "nomecognome" | "cognomenome" | "fullname" => "name",
        "consenso" | "dataconsenso" | "datadelconsenso" | "consent" | "consentdate" | "dateofconsent"
        | "consentgiven" => "consent",
        "lingua" | "language" | "lang" | "idioma" => "lang",
        _ => return None,
    })
}

/// A language as people write it in a spreadsheet; blank is Italian.
fn lang_of(cell: &str) -> Option<Lang> {
    match cell.trim().to_lowercase().as_str() {
        "" | "it" | "ita" | "italiano" | "italian" | "it-it" => Some(Lang::It),
        "en" | "eng" | "english" | "inglese" | "en-gb" | "en-us" => Some(Lang::En),
        _ => None,
    }
}

/// A consent date as ISO (`2024-03-01`) or as Italians write it (`01/03/2024`, `1-3-2024`,
/// `01.03.2024`); a time after the date (a spreadsheet's export) is ignored.
pub fn consent_date(cell: &str) -> Option<Date> {
    let s = cell.trim().split([' ', 'T']).next().unwrap_or_default();
    if s.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    let [a, b, c] = parts.as_slice() else { return None };
    let num = |p: &str| -> Option<i32> {
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let (y, m, d) = if a.len() == 4 { (num(a)?, num(b)?, num(c)?) } else { (num(c)?, num(b)?, num(a)?) };
    if !(1900..=2200).contains(&y) {
        return None;
    }
    Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// `;` when the first line has more semicolons than commas, else `,`.
fn separator_of(text: &[u8]) -> u8 {
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first.iter().filter(|b| **b == c).count();
    if count(b';') > count(b',') { b';' } else { b',' }
}

/// Reads a contact list: the contacts to import, and every line refused with its reason.
/// Never panics, whatever the bytes.
pub fn parse_contacts(bytes: &[u8]) -> Result<ContactImport, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    let sep = separator_of(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(sep).from_reader(bytes);
    let mut out = ContactImport { separator: char::from(sep), ..ContactImport::default() };
    let mut columns: Option<Columns> = None;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    let mut lines = 0usize;
    // Line numbers come from byte offsets: the reader's own line count is not reliable
    // across `\r\n` line ends and skipped blank lines.
    // Offsets only grow, so newlines are counted once, from where the last count stopped.
    let mut counted = (0usize, 1usize);
    let mut line_of = |offset: u64| {
        let end = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
        let mut start = end;
        // A record's offset may sit on the line end before it (blank lines are skipped).
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        let (from, line) = counted;
        let line = if start >= from {
            line + bytes[from..start].iter().filter(|b| **b == b'\n').count()
        } else {
            1 + bytes[..start].iter().filter(|b| **b == b'\n').count()
        };
        counted = (start, line);
        line
    };
    loop {
        let before = reader.position().byte();
        let read = reader.read_byte_record(&mut record);
        let line = match &read {
            Ok(_) => line_of(record.position().map_or(before, csv::Position::byte)),
            Err(_) => line_of(before),
        };
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                out.refused.push(RefusedLine { line, reason: Refusal::Unreadable });
                lines += 1;
                if lines > MAX_LINES {
                    return Err(ImportError::TooManyLines);
                }
                continue;
            }
        }
        lines += 1;
        if lines > MAX_LINES {
            return Err(ImportError::TooManyLines);
        }
        let cells: Option<Vec<&str>> = record.iter().map(|c| std::str::from_utf8(c).ok()).collect();
        let Some(cells) = cells else {
            out.refused.push(RefusedLine { line, reason: Refusal::Unreadable });
            continue;
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if first {
            first = false;
            let named: Vec<Option<&'static str>> = cells.iter().map(|c| header_of(c)).collect();
            if named.iter().any(Option::is_some) && !cells.iter().any(|c| c.contains('@')) {
                let find = |n: &str| named.iter().position(|h| *h == Some(n));
                let email = find("email").ok_or(ImportError::NoEmailColumn)?;
                columns = Some(Columns { email, name: find("name"), consent: find("consent"), lang: find("lang") });
                out.header = true;
                continue;
            }
            columns = Some(Columns { email: 0, name: Some(1), consent: Some(2), lang: Some(3) });
        }
        let Some(cols) = columns else { continue };
        let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).map_or("", |c| c.trim());
        match contact(line, &cells, cols, cell) {
            Ok(row) => {
                let key = row.email.as_str().to_lowercase();
                if let Some(first_line) = seen.get(&key) {
                    out.refused.push(RefusedLine { line, reason: Refusal::Duplicate(*first_line) });
                } else {
                    seen.insert(key, line);
                    out.contacts.push(row);
                }
            }
            Err(reason) => out.refused.push(RefusedLine { line, reason }),
        }
    }
    if out.contacts.is_empty() && out.refused.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(out)
}

fn contact<'a>(
    line: usize,
    cells: &[&'a str],
    cols: Columns,
    cell: impl Fn(Option<usize>) -> &'a str,
) -> Result<ContactRow, Refusal> {
    let raw = cells.get(cols.email).map_or("", |c| c.trim());
    let email = Email::parse(raw).map_err(|_| Refusal::BadEmail)?;
    let consent = cell(cols.consent);
    if consent.is_empty() {
        return Err(Refusal::MissingConsent);
    }
    let consent_date = consent_date(consent).ok_or(Refusal::BadConsentDate)?;
    let lang = lang_of(cell(cols.lang)).ok_or(Refusal::BadLanguage)?;
    let name = cell(cols.name);
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Refusal::BadName);
    }
    let email = Email::parse(&email.as_str().to_lowercase()).map_err(|_| Refusal::BadEmail)?;
    Ok(ContactRow { line, email, name: name.to_owned(), consent_date, lang })
}

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Being written: nothing is sent.
    Draft,
    /// Its messages go out at the town's rate; links answer.
    Running,
    /// Sending stopped for now; links already sent still answer.
    Paused,
    /// Over: nothing more is sent, links say the survey is closed.
    Finished,
}

/// What staff do to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignAction {
    /// Draft to running: every subscribed contact becomes a recipient.
    Start,
    /// Running to paused.
    Pause,
    /// Paused to running.
    Resume,
    /// Running or paused to finished.
    Finish,
}

impl CampaignStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Running => "running",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Finished => "finished",
        }
    }

    /// The status a stored name means.
    pub fn parse(s: &str) -> Option<CampaignStatus> {
        Some(match s {
            "draft" => CampaignStatus::Draft,
            "running" => CampaignStatus::Running,
            "paused" => CampaignStatus::Paused,
            "finished" => CampaignStatus::Finished,
            _ => return None,
        })
    }

    /// The status after `action`, or `None` when it does not apply now.
    pub fn after(self, action: CampaignAction) -> Option<CampaignStatus> {
        use CampaignAction as A;
        use CampaignStatus as S;
        match (self, action) {
            (S::Draft, A::Start) | (S::Paused, A::Resume) => Some(S::Running),
            (S::Running, A::Pause) => Some(S::Paused),
            (S::Running | S::Paused, A::Finish) => Some(S::Finished),
            _ => None,
        }
    }

    /// Whether its links still take answers.
    pub fn takes_answers(self) -> bool {
        matches!(self, CampaignStatus::Running | CampaignStatus::Paused)
    }

    /// Its name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (CampaignStatus::Draft, Lang::It) => "bozza",
            (CampaignStatus::Running, Lang::It) => "in corso",
            (CampaignStatus::Paused, Lang::It) => "in pausa",
            (CampaignStatus::Finished, Lang::It) => "conclusa",
            (CampaignStatus::Draft, Lang::En) => "draft",
            (CampaignStatus::Running, Lang::En) => "running",
            (CampaignStatus::Paused, Lang::En) => "paused",
            (CampaignStatus::Finished, Lang::En) => "finished",
        }
    }
}

/// The outbox key of a campaign's message to a contact: one per contact and campaign, so a
/// contact is never queued twice.
pub fn dedupe_key(campaign: i64, contact: i64) -> String {
    format!("campaign:{campaign}:{contact}")
}

/// The campaign and contact an outbox key names, if it is a campaign's.
pub fn parse_dedupe_key(key: &str) -> Option<(i64, i64)> {
    let rest = key.strip_prefix("campaign:")?;
    let (c, k) = rest.split_once(':')?;
    Some((c.parse().ok()?, k.parse().ok()?))
}

/// How many messages a town may still hand to the outbox now, given its rate per minute and
/// how many it queued in the last minute.
pub fn allowance(per_minute: u32, queued_last_minute: i64) -> i64 {
    (i64::from(per_minute) - queued_last_minute).max(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reasons(i: &ContactImport) -> Vec<(usize, Refusal)> {
        i.refused.iter().map(|r| (r.line, r.reason.clone())).collect()
    }

    #[test]
    fn an_italian_export_with_semicolons_a_bom_and_headers_is_read() {
        let file = "\u{feff}Nome;E-mail;Data consenso;Lingua\r\nMaria Rossi;Maria.Rossi@Example.org;01/03/2024;italiano\r\n\
                    John Smith;john@example.org;2023-12-31;EN\r\n";
        let i = parse_contacts(file.as_bytes()).unwrap();
        assert!(i.header);
        assert_eq!(i.separator, ';');
        assert!(i.refused.is_empty(), "{:?}", i.refused);
        assert_eq!(i.contacts.len(), 2);
        assert_eq!(i.contacts[0].email.as_str(), "maria.rossi@example.org");
        assert_eq!(i.contacts[0].name, "Maria Rossi");
        assert_eq!(i.contacts[0].consent_date, Date::new(2024, 3, 1).unwrap());
        assert_eq!(i.contacts[0].line, 2);
        assert_eq!(i.contacts[1].lang, Lang::En);
        assert_eq!(i.contacts[1].line, 3);
    }

    #[test]
    fn a_file_without_header_is_email_name_consent_language_with_commas() {
        let i = parse_contacts(b"a@example.org,Anna,2024-01-02,it\nb@example.org,\"Bianchi, Bruno\",2024-01-03,\n")
            .unwrap();
        assert!(!i.header);
        assert_eq!(i.separator, ',');
        assert_eq!(i.contacts.len(), 2);
        assert_eq!(i.contacts[1].name, "Bianchi, Bruno");
        assert_eq!(i.contacts[1].lang, Lang::It, "blank language is Italian");
    }

    #[test]
    fn every_refused_line_has_its_number_and_reason() {
        let file = "email;nome;consenso;lingua\n\
                    ok@example.org;Ok;2024-01-01;it\n\
                    not-an-address;X;2024-01-01;it\n\
                    noconsent@example.org;Y;;it\n\
                    baddate@example.org;Z;31/02/2024;it\n\
                    OK@example.org;Again;2024-01-01;it\n\
                    lang@example.org;L;2024-01-01;klingon\n\
                    \n\
                    last@example.org;Last;2024-05-06;en\n";
        let i = parse_contacts(file.as_bytes()).unwrap();
        assert_eq!(i.contacts.iter().map(|c| c.line).collect::<Vec<_>>(), [2, 9]);
        assert_eq!(
            reasons(&i),
            [
                (3, Refusal::BadEmail),
                (4, Refusal::MissingConsent),
                (5, Refusal::BadConsentDate),
                (6, Refusal::Duplicate(2)),
                (7, Refusal::BadLanguage),
            ]
        );
        assert_eq!(Refusal::Duplicate(2).message(Lang::It), "indirizzo già presente alla riga 2");
    }

    #[test]
    fn headers_in_any_order_and_a_missing_email_column_is_refused() {
        let i = parse_contacts(b"consent,language,email\n2024-01-01,en,x@example.org\n").unwrap();
        assert_eq!(i.contacts[0].email.as_str(), "x@example.org");
        assert_eq!(i.contacts[0].name, "");
        assert_eq!(parse_contacts(b"nome;lingua\nAnna;it\n"), Err(ImportError::NoEmailColumn));
        assert_eq!(parse_contacts(b""), Err(ImportError::Empty));
        assert_eq!(parse_contacts(b"\xEF\xBB\xBF\r\n \n"), Err(ImportError::Empty));
    }

    #[test]
    fn consent_dates_are_read_as_italians_write_them() {
        let d = Date::new(2024, 3, 1).unwrap();
        for s in
            ["2024-03-01", "01/03/2024", "1/3/2024", "01-03-2024", "01.03.2024", "2024-03-01 10:00:00", "2024/03/01"]
        {
            assert_eq!(consent_date(s), Some(d), "{s}");
        }
        for s in ["", "ieri", "2024-13-01", "32/01/2024", "01/03/24", "1/3/99999"] {
            assert_eq!(consent_date(s), None, "{s}");
        }
    }

    #[test]
    fn markup_in_names_is_kept_as_text_and_control_characters_are_refused() {
        let i = parse_contacts(
            "a@example.org;<script>x</script>;2024-01-01;it\nb@example.org;\u{7}bell;2024-01-01;it\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(i.contacts[0].name, "<script>x</script>");
        assert_eq!(reasons(&i), [(2, Refusal::BadName)]);
    }

    #[test]
    fn latin1_lines_are_refused_not_mangled() {
        let i = parse_contacts(b"a@example.org;Nicol\xF2;2024-01-01;it\nb@example.org;B;2024-01-01;it\n").unwrap();
        assert_eq!(reasons(&i), [(1, Refusal::Unreadable)]);
        assert_eq!(i.contacts.len(), 1);
    }

    #[test]
    fn campaigns_move_only_along_their_life() {
        use CampaignAction as A;
        use CampaignStatus as S;
        assert_eq!(S::Draft.after(A::Start), Some(S::Running));
        assert_eq!(S::Running.after(A::Pause), Some(S::Paused));
        assert_eq!(S::Paused.after(A::Resume), Some(S::Running));
        assert_eq!(S::Paused.after(A::Finish), Some(S::Finished));
        assert_eq!(S::Draft.after(A::Pause), None);
        assert_eq!(S::Running.after(A::Start), None);
        assert_eq!(S::Finished.after(A::Resume), None);
        assert!(S::Paused.takes_answers() && !S::Finished.takes_answers() && !S::Draft.takes_answers());
        for s in [S::Draft, S::Running, S::Paused, S::Finished] {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn dedupe_keys_round_trip_and_the_rate_allows_what_is_left() {
        assert_eq!(dedupe_key(3, 41), "campaign:3:41");
        assert_eq!(parse_dedupe_key("campaign:3:41"), Some((3, 41)));
        assert_eq!(parse_dedupe_key("ticket:1:2:3"), None);
        assert_eq!(allowance(600, 100), 500);
        assert_eq!(allowance(600, 900), 0);
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            if let Ok(i) = parse_contacts(&bytes) {
                for r in &i.refused {
                    prop_assert!(r.line >= 1);
                }
            }
        }

        #[test]
        fn csv_like_text_is_read_without_panicking(text in "[a-z@.;,\"\n\r0-9/ -]{0,400}") {
            let _ = parse_contacts(text.as_bytes());
        }
    }
}

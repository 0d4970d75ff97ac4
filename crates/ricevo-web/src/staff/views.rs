//! The staff pages' templates (in `templates/staff/`) and the small view types they show.

use askama::Template;
use ricevo_core::Lang;
use ricevo_store::Role;

use super::form::{Errors, Fields, tr};

/// The frame every staff page shares: town, user, navigation, language switch.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    /// The language of the page.
    pub(crate) lang: Lang,
    /// `/{slug}/staff` (empty on pages outside a town).
    pub(crate) base: String,
    /// The town's name.
    pub(crate) tenant_name: String,
    /// The page's title.
    pub(crate) title: String,
    /// The current path (the language switch links to it).
    pub(crate) path: String,
    /// The signed-in user's name (empty when signed out).
    pub(crate) user_name: String,
    /// The signed-in user's role.
    pub(crate) role: Option<Role>,
    /// The session's CSRF token for the forms of the page.
    pub(crate) csrf: String,
}

impl Page {
    /// A frame with no town and no user (error pages).
    pub(crate) fn bare(lang: Lang, title: &str) -> Page {
        Page {
            lang,
            base: String::new(),
            tenant_name: String::new(),
            title: title.to_owned(),
            path: String::new(),
            user_name: String::new(),
            role: None,
            csrf: String::new(),
        }
    }
    /// Italian or English text.
    pub(crate) fn t(&self, it: &'static str, en: &'static str) -> &'static str {
        tr(self.lang, it, en)
    }
    /// `it` or `en`.
    pub(crate) fn lang_code(&self) -> &'static str {
        self.lang.code()
    }
    /// The code of the other language.
    pub(crate) fn other_lang(&self) -> &'static str {
        match self.lang {
            Lang::It => "en",
            Lang::En => "it",
        }
    }
    /// The other language's name, in that language.
    pub(crate) fn other_lang_name(&self) -> &'static str {
        match self.lang {
            Lang::It => "English",
            Lang::En => "Italiano",
        }
    }
    /// Whether someone is signed in.
    pub(crate) fn signed_in(&self) -> bool {
        self.role.is_some()
    }
    /// Whether the user administers the town.
    pub(crate) fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }
    /// Whether the user manages offices (administrators and managers).
    pub(crate) fn can_manage(&self) -> bool {
        matches!(self.role, Some(Role::Admin | Role::Manager))
    }
    /// The navigation links this user may follow: (href, label, current).
    pub(crate) fn nav(&self) -> Vec<(String, &'static str, bool)> {
        if self.role.is_none() {
            return Vec::new();
        }
        let mut links: Vec<(String, &'static str)> = Vec::new();
        let b = &self.base;
        links.push((b.clone(), self.t("Giornata", "Day")));
        links.push((format!("{b}/search"), self.t("Cerca", "Search")));
        links.push((format!("{b}/desk"), self.t("Sala d'attesa", "Waiting room")));
        if self.can_manage() {
            links.push((format!("{b}/offices"), self.t("Uffici", "Offices")));
        }
        if self.is_admin() {
            links.push((format!("{b}/users"), self.t("Personale", "Staff")));
            links.push((format!("{b}/tokens"), self.t("Token API", "API tokens")));
            links.push((format!("{b}/webhooks"), self.t("Webhook", "Webhooks")));
            links.push((format!("{b}/outbox"), self.t("Posta in uscita", "Outbox")));
            links.push((format!("{b}/privacy"), self.t("Privacy", "Privacy")));
            links.push((format!("{b}/audit"), self.t("Registro attività", "Audit log")));
            links.push((format!("{b}/settings"), self.t("Impostazioni", "Settings")));
        }
        // ---- surveys ----
        links.push((format!("{b}/surveys"), self.t("Questionari", "Questionnaires")));
        // ---- end surveys ----
        // ---- feedback ----
        // ---- end feedback ----
        // ---- campaigns ----
        if self.is_admin() {
            links.push((format!("{b}/contacts"), self.t("Contatti", "Contacts")));
            links.push((format!("{b}/campaigns"), self.t("Campagne", "Campaigns")));
        }
        // ---- end campaigns ----
        // ---- reports ----
        links.push((format!("{b}/reports"), self.t("Statistiche", "Reports")));
        // ---- end reports ----
        // ---- waitlist ----
        links.push((format!("{b}/waitlist"), self.t("Liste d'attesa", "Waitlists")));
        // ---- end waitlist ----
        // ---- channels ----
        if self.is_admin() {
            links.push((format!("{b}/channels"), self.t("Canali", "Channels")));
        }
        // ---- end channels ----
        // ---- public ----
        links.push((format!("{b}/consiglio"), self.t("Consiglio", "Council")));
        // ---- end public ----
        // ---- staffoidc ----
        if self.is_admin() {
            links.push((format!("{b}/sign-in"), self.t("Accesso", "Sign-in")));
        }
        // ---- end staffoidc ----
        links.push((format!("{b}/account"), self.t("Il mio account", "My account")));
        links
            .into_iter()
            .map(|(href, label)| {
                let current = self.path == href || (href != *b && self.path.starts_with(&format!("{href}/")));
                (href, label, current)
            })
            .collect()
    }
    /// The town's citizen pages (`/{slug}`), for the footer's links; empty outside a town.
    pub(crate) fn town_path(&self) -> &str {
        self.base.strip_suffix("/staff").unwrap_or("")
    }
    /// A stored ISO day or instant written for people (see [`iso_for_people`]).
    pub(crate) fn when(&self, raw: &str) -> String {
        iso_for_people(raw, self.lang)
    }
    /// The role's name in the page's language.
    pub(crate) fn role_name(&self) -> &'static str {
        self.role.map(|r| role_name(r, self.lang)).unwrap_or("")
    }
}

/// A role's name for people.
pub(crate) fn role_name(role: Role, lang: Lang) -> &'static str {
    match role {
        Role::Operator => tr(lang, "Operatore", "Operator"),
        Role::Manager => tr(lang, "Responsabile d'ufficio", "Office manager"),
        Role::Admin => tr(lang, "Amministratore", "Administrator"),
    }
}

/// One input of a form with its label, value and problem.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// The HTML id.
    pub(crate) id: String,
    /// The form name.
    pub(crate) name: String,
    /// The label.
    pub(crate) label: String,
    /// `text`, `email`, `password`, `date`, `time`, `number`, `url`, `search` or `textarea`.
    pub(crate) kind: &'static str,
    /// The current value.
    pub(crate) value: String,
    /// What is wrong with it.
    pub(crate) error: Option<String>,
    /// A hint under the label.
    pub(crate) hint: Option<String>,
    /// Whether the field is required.
    pub(crate) required: bool,
    /// The `autocomplete` attribute.
    pub(crate) autocomplete: &'static str,
}

impl Field {
    /// A field `name` of kind `kind`, filled from `values` with its problem from `errors`.
    pub(crate) fn new(name: &str, label: &str, kind: &'static str, values: &Fields, errors: &Errors) -> Field {
        Field {
            id: format!("f-{name}"),
            name: name.to_owned(),
            label: label.to_owned(),
            kind,
            value: values.get(name).to_owned(),
            error: errors.get(name),
            hint: None,
            required: false,
            autocomplete: "off",
        }
    }
    /// Marks the field required.
    pub(crate) fn required(mut self) -> Field {
        self.required = true;
        self
    }
    /// Adds a hint.
    pub(crate) fn hint(mut self, hint: &str) -> Field {
        self.hint = Some(hint.to_owned());
        self
    }
    /// Sets the `autocomplete` attribute.
    pub(crate) fn autocomplete(mut self, value: &'static str) -> Field {
        self.autocomplete = value;
        self
    }
    /// The ids that describe the input (hint and error), for `aria-describedby`.
    pub(crate) fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }
}

/// One option of a select.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    /// The submitted value.
    pub(crate) value: String,
    /// The label.
    pub(crate) label: String,
    /// Whether it is selected (or ticked, for checkboxes).
    pub(crate) selected: bool,
}

/// A select or a group of checkboxes.
#[derive(Debug, Clone)]
pub(crate) struct ChoiceField {
    /// The HTML id.
    pub(crate) id: String,
    /// The form name.
    pub(crate) name: String,
    /// The label or legend.
    pub(crate) label: String,
    /// The options.
    pub(crate) options: Vec<Choice>,
    /// What is wrong.
    pub(crate) error: Option<String>,
}

impl ChoiceField {
    /// A select or checkbox group `name`, with its problem from `errors`.
    pub(crate) fn new(name: &str, label: &str, options: Vec<Choice>, errors: &Errors) -> ChoiceField {
        ChoiceField {
            id: format!("f-{name}"),
            name: name.to_owned(),
            label: label.to_owned(),
            options,
            error: errors.get(name),
        }
    }
}

/// A list of problems to show above a form, each linking to its field.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary(pub(crate) Vec<(String, String)>);

impl Summary {
    /// The summary of `errors`.
    pub(crate) fn of(errors: &Errors) -> Summary {
        Summary(errors.0.iter().map(|(k, v)| (format!("f-{k}"), v.clone())).collect())
    }
    /// Whether there is nothing to show.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The login form.
#[derive(Debug, Template)]
#[template(path = "staff/login.html")]
pub(crate) struct LoginPage {
    pub(crate) p: Page,
    pub(crate) action: String,
    pub(crate) login_csrf: String,
    pub(crate) email: Field,
    pub(crate) password: Field,
    pub(crate) error: Option<String>,
    /// The link to sign in through the town's identity provider, when it has one (issue 16).
    pub(crate) provider: Option<String>,
    /// Whether the password form is offered.
    pub(crate) passwords: bool,
}

/// An error page.
#[derive(Debug, Template)]
#[template(path = "staff/error.html")]
pub(crate) struct ErrorPage {
    pub(crate) p: Page,
    pub(crate) status: u16,
    pub(crate) message: String,
    pub(crate) back: Option<String>,
}

/// One appointment on the day page.
#[derive(Debug, Clone)]
pub(crate) struct ApptRow {
    pub(crate) time: String,
    pub(crate) office: String,
    pub(crate) service: String,
    pub(crate) citizen: String,
    pub(crate) email: String,
    pub(crate) phone: String,
    pub(crate) fiscal_code: String,
    pub(crate) mode: &'static str,
    pub(crate) status: &'static str,
    pub(crate) status_code: &'static str,
    pub(crate) notes: String,
    pub(crate) answers: Vec<(String, String)>,
    pub(crate) action: String,
    /// Which buttons to show: the changes the core's rule allows now.
    pub(crate) can_check_in: bool,
    pub(crate) can_done: bool,
    pub(crate) can_no_show: bool,
    pub(crate) can_cancel: bool,
    // ---- the URP desk (booking) ----
    /// The reference code.
    pub(crate) reference: String,
    /// The confirmation pages of a cancel and a move.
    pub(crate) cancel_link: String,
    pub(crate) move_link: String,
}

/// The appointments of one day.
#[derive(Debug, Template)]
#[template(path = "staff/day.html")]
pub(crate) struct DayPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) date: Field,
    pub(crate) office: Option<ChoiceField>,
    pub(crate) day_label: String,
    pub(crate) date_value: String,
    pub(crate) office_value: String,
    pub(crate) prev: String,
    pub(crate) next: String,
    pub(crate) rows: Vec<ApptRow>,
}

/// One search result.
#[derive(Debug, Clone)]
pub(crate) struct SearchRow {
    /// The reference code.
    pub(crate) reference: String,
    pub(crate) when: String,
    pub(crate) day_link: String,
    pub(crate) office: String,
    pub(crate) service: String,
    pub(crate) citizen: String,
    pub(crate) fiscal_code: String,
    pub(crate) status: &'static str,
}

/// Search by name or codice fiscale.
#[derive(Debug, Template)]
#[template(path = "staff/search.html")]
pub(crate) struct SearchPage {
    pub(crate) p: Page,
    pub(crate) q: Field,
    pub(crate) searched: bool,
    pub(crate) rows: Vec<SearchRow>,
}

/// One office in the list.
#[derive(Debug, Clone)]
pub(crate) struct OfficeRow {
    pub(crate) name: String,
    pub(crate) link: String,
    pub(crate) address: String,
    pub(crate) desks: i32,
}

/// The offices a manager or administrator looks after.
#[derive(Debug, Template)]
#[template(path = "staff/offices.html")]
pub(crate) struct OfficesPage {
    pub(crate) p: Page,
    pub(crate) offices: Vec<OfficeRow>,
    /// The new office form (administrators only).
    pub(crate) create: Option<Vec<Field>>,
    pub(crate) summary: Summary,
}

/// One weekday of the hours grid.
#[derive(Debug, Clone)]
pub(crate) struct DayHours {
    /// 1 = Monday.
    pub(crate) day: usize,
    pub(crate) name: String,
    /// Its ranges (at least one row, maybe blank).
    pub(crate) ranges: Vec<RangeRow>,
    /// Whether another range may be added.
    pub(crate) can_add: bool,
    /// The other days, for "copy this day to".
    pub(crate) targets: Vec<Choice>,
}

/// One opening range of the hours grid.
#[derive(Debug, Clone)]
pub(crate) struct RangeRow {
    /// Its place in the day, from 1.
    pub(crate) k: usize,
    pub(crate) from: Field,
    pub(crate) to: Field,
    /// The value of its "remove" button, `{day}-{k}`.
    pub(crate) remove: String,
}

impl RangeRow {
    /// Its two times, opening first.
    pub(crate) fn fields(&self) -> [&Field; 2] {
        [&self.from, &self.to]
    }
}

/// One closure.
#[derive(Debug, Clone)]
pub(crate) struct ClosureItem {
    /// Its days in words: "lunedì 8 dicembre 2026" or "da … a …".
    pub(crate) days: String,
    pub(crate) reason: String,
    pub(crate) delete: String,
}

/// One service of an office.
#[derive(Debug, Clone)]
pub(crate) struct ServiceItem {
    pub(crate) name: String,
    pub(crate) link: String,
    pub(crate) duration: i32,
    pub(crate) modes: String,
    pub(crate) active: bool,
}

/// An office: its data, hours, closures and services.
#[derive(Debug, Template)]
#[template(path = "staff/office.html")]
pub(crate) struct OfficePage {
    pub(crate) p: Page,
    /// The grid's script (`staff.js`).
    pub(crate) script: String,
    pub(crate) summary: Summary,
    pub(crate) action: String,
    pub(crate) data: Vec<Field>,
    pub(crate) desks: Field,
    pub(crate) days: Vec<DayHours>,
    pub(crate) hours_error: Option<String>,
    /// The grid was edited without a script and is not saved yet.
    pub(crate) hours_edited: bool,
    pub(crate) closures: Vec<ClosureItem>,
    pub(crate) closure: Vec<Field>,
    pub(crate) services: Vec<ServiceItem>,
}

/// A service's form (new or edit).
#[derive(Debug, Template)]
#[template(path = "staff/service.html")]
pub(crate) struct ServicePage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) office_name: String,
    pub(crate) office_link: String,
    pub(crate) action: String,
    pub(crate) is_new: bool,
    pub(crate) texts: Vec<Field>,
    pub(crate) numbers: Vec<Field>,
    pub(crate) modes: ChoiceField,
    pub(crate) active: bool,
    // ---- citizen ----
    /// Booked only for a citizen signed in with SPID or CIE.
    pub(crate) requires_identity: bool,
    // ---- end citizen ----
    /// The intake questions builder's rows.
    pub(crate) questions: Vec<QuestionRow>,
    /// A blank row for the script to copy (`__N__` in its names).
    pub(crate) blank_question: QuestionRow,
    /// A problem with the questions as a whole.
    pub(crate) questions_error: Option<String>,
    /// The builder's script (`staff.js`).
    pub(crate) script: String,
}

/// One question of the intake questions builder.
#[derive(Debug, Clone)]
pub(crate) struct QuestionRow {
    /// The `i` of its field names `q{i}_*`.
    pub(crate) id: String,
    pub(crate) label: Field,
    pub(crate) kind: ChoiceField,
    pub(crate) options: Field,
    pub(crate) key: Field,
    pub(crate) required: bool,
}

/// One staff account.
#[derive(Debug, Clone)]
pub(crate) struct UserRow {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) role: &'static str,
    pub(crate) offices: String,
    pub(crate) reset: String,
    /// The account's edit page.
    pub(crate) edit: String,
    /// Disabled, or with a second factor, in words.
    pub(crate) state: String,
}

/// A secret shown once.
#[derive(Debug, Clone)]
pub(crate) struct Secret {
    /// What it is for.
    pub(crate) what: String,
    /// The secret.
    pub(crate) value: String,
}

/// Staff accounts (administrators).
#[derive(Debug, Template)]
#[template(path = "staff/users.html")]
pub(crate) struct UsersPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) secret: Option<Secret>,
    pub(crate) users: Vec<UserRow>,
    pub(crate) texts: Vec<Field>,
    pub(crate) role: ChoiceField,
    pub(crate) offices: ChoiceField,
}

/// API tokens (administrators).
#[derive(Debug, Template)]
#[template(path = "staff/tokens.html")]
pub(crate) struct TokensPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) secret: Option<Secret>,
    pub(crate) label: Field,
    pub(crate) role: ChoiceField,
    pub(crate) office: ChoiceField,
    pub(crate) tokens: Vec<TokenRow>,
}

// --- Staff accounts, second factor, tokens and town settings (issue 12) ---

/// One API token as listed (never its secret).
#[derive(Debug, Clone)]
pub(crate) struct TokenRow {
    pub(crate) label: String,
    pub(crate) role: &'static str,
    pub(crate) office: String,
    pub(crate) created: String,
    pub(crate) last_used: String,
    /// Where to post to revoke it; `None` once revoked.
    pub(crate) revoke: Option<String>,
}

/// One account's edit page (administrators).
#[derive(Debug, Template)]
#[template(path = "staff/user.html")]
pub(crate) struct UserPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) action: String,
    pub(crate) name: Field,
    pub(crate) email: Field,
    pub(crate) role: ChoiceField,
    pub(crate) offices: ChoiceField,
    pub(crate) disabled: bool,
    pub(crate) second_factor: bool,
    pub(crate) toggle: String,
    pub(crate) reset_second_factor: String,
    pub(crate) back: String,
}

/// One's own account: password and second factor.
#[derive(Debug, Template)]
#[template(path = "staff/account.html")]
pub(crate) struct AccountPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) current: Field,
    pub(crate) new: Field,
    pub(crate) second_factor: bool,
    pub(crate) codes_left: i64,
    /// Recovery codes, shown once after enrolment.
    pub(crate) codes: Option<Vec<String>>,
    pub(crate) done: Option<&'static str>,
}

/// Enrolment in the second factor.
#[derive(Debug, Template)]
#[template(path = "staff/enrol.html")]
pub(crate) struct EnrolPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) secret: String,
    pub(crate) uri: String,
    /// Server-rendered SVG (paths only), trusted markup from the `qrcode` crate.
    pub(crate) qr_svg: String,
    pub(crate) code: Field,
}

/// The second step of signing in.
#[derive(Debug, Template)]
#[template(path = "staff/login_code.html")]
pub(crate) struct LoginCodePage {
    pub(crate) p: Page,
    pub(crate) action: String,
    pub(crate) code: Field,
    pub(crate) error: Option<String>,
}

/// The town's settings (administrators).
#[derive(Debug, Template)]
#[template(path = "staff/settings.html")]
pub(crate) struct SettingsPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) saved: bool,
    pub(crate) fields: Vec<Field>,
    pub(crate) languages: ChoiceField,
    pub(crate) slug: String,
    pub(crate) emblem: bool,
    pub(crate) emblem_error: Option<String>,
    // ---- webpush ----
    /// Whether the town offers "your turn" push notifications in its waiting rooms.
    pub(crate) web_push: bool,
    // ---- end webpush ----
    // ---- citizen ----
    /// The town's limit of active appointments per service for a citizen signed in with SPID or
    /// CIE; empty: the instance's.
    pub(crate) verified_max_active: String,
    // ---- end citizen ----
}

/// One webhook.
#[derive(Debug, Clone)]
pub(crate) struct HookRow {
    pub(crate) url: String,
    pub(crate) delete: String,
}

/// Webhooks (administrators).
#[derive(Debug, Template)]
#[template(path = "staff/webhooks.html")]
pub(crate) struct WebhooksPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) secret: Option<Secret>,
    pub(crate) hooks: Vec<HookRow>,
    pub(crate) url: Field,
}

/// One e-mail written to the outbox folder.
#[derive(Debug, Clone)]
pub(crate) struct FileRow {
    pub(crate) name: String,
    pub(crate) href: String,
    pub(crate) size: String,
    pub(crate) time: String,
}

/// The outbox folder (administrators).
#[derive(Debug, Template)]
#[template(path = "staff/outbox.html")]
pub(crate) struct OutboxPage {
    pub(crate) p: Page,
    pub(crate) configured: bool,
    pub(crate) files: Vec<FileRow>,
}

/// The confirmation step of a destructive action (staffui): what will happen, and the same
/// form posted again with `confirm=1`.
#[derive(Debug, Template)]
#[template(path = "staff/confirm.html")]
pub(crate) struct ConfirmPage {
    pub(crate) p: Page,
    /// The question, such as "Revocare il token «Portale»?".
    pub(crate) question: String,
    /// What follows from it.
    pub(crate) detail: String,
    /// Where the confirmed form posts.
    pub(crate) action: String,
    /// The confirming button's text.
    pub(crate) button: String,
    /// Where "no" goes back to.
    pub(crate) back: String,
}

/// An appointment status for people.
pub(crate) fn status_name(status: ricevo_store::AppointmentStatus, lang: Lang) -> &'static str {
    use ricevo_store::AppointmentStatus as S;
    match status {
        S::Booked => tr(lang, "Prenotato", "Booked"),
        S::CheckedIn => tr(lang, "Arrivato", "Checked in"),
        S::Done => tr(lang, "Concluso", "Done"),
        S::NoShow => tr(lang, "Non presentato", "No-show"),
        S::Cancelled => tr(lang, "Annullato", "Cancelled"),
    }
}

/// A mode of meeting for people.
pub(crate) fn mode_name(mode: ricevo_core::Mode, lang: Lang) -> &'static str {
    use ricevo_core::Mode as M;
    match mode {
        M::Video => tr(lang, "Video", "Video"),
        M::InPerson => tr(lang, "In presenza", "In person"),
        M::Phone => tr(lang, "Telefono", "Phone"),
    }
}

/// A weekday's name (1 = Monday), capitalised as at the start of a line.
pub(crate) fn weekday_name(n: i8, lang: Lang) -> String {
    let day = jiff::civil::Weekday::from_monday_one_offset(n.clamp(1, 7)).unwrap_or(jiff::civil::Weekday::Monday);
    capitalised(lang.weekday(day))
}

/// A day written out, such as "Lunedì 7 dicembre 2026".
pub(crate) fn long_date(d: jiff::civil::Date, lang: Lang) -> String {
    format!("{} {} {} {}", capitalised(lang.weekday(d.weekday())), d.day(), lang.month(d.month()), d.year())
}

// ---- staffui: dates as people in Italy write them (the API keeps ISO 8601) ----

/// A day written out mid-sentence, such as "lunedì 8 dicembre 2026" ("Monday 8 December 2026").
pub(crate) fn day_in_words(d: jiff::civil::Date, lang: Lang) -> String {
    format!("{} {} {} {}", lang.weekday(d.weekday()), d.day(), lang.month(d.month()), d.year())
}

/// The days of a closure in words: one day, or "da … a …" ("from … to …").
pub(crate) fn closure_days(first: jiff::civil::Date, last: jiff::civil::Date, lang: Lang) -> String {
    if first == last {
        day_in_words(first, lang)
    } else {
        let (from, to) = match lang {
            Lang::It => ("da", "a"),
            Lang::En => ("from", "to"),
        };
        format!("{from} {} {to} {}", day_in_words(first, lang), day_in_words(last, lang))
    }
}

/// A day in short, for tables: "lun 8 dic 2026" ("Mon 8 Dec 2026").
pub(crate) fn short_date(d: jiff::civil::Date, lang: Lang) -> String {
    let first3 = |w: &str| w.chars().take(3).collect::<String>();
    format!("{} {} {} {}", first3(lang.weekday(d.weekday())), d.day(), first3(lang.month(d.month())), d.year())
}

/// An instant in the town's time, for tables: "lun 8 dic 2026, 09:30".
pub(crate) fn short_date_time(z: &jiff::Zoned, lang: Lang) -> String {
    format!("{}, {}", short_date(z.date(), lang), z.strftime("%H:%M"))
}

/// A stored ISO day (`2026-12-08`) or RFC 3339 instant (`2026-12-08T09:30:00+01:00`) as
/// [`day_in_words`] or [`short_date_time`] (at its own offset); anything else as it is.
pub(crate) fn iso_for_people(raw: &str, lang: Lang) -> String {
    if let Ok(d) = raw.parse::<jiff::civil::Date>() {
        return day_in_words(d, lang);
    }
    match raw.parse::<jiff::Timestamp>() {
        Ok(t) => {
            let offset = jiff::fmt::temporal::Pieces::parse(raw)
                .ok()
                .and_then(|p| p.offset().map(|o| o.to_numeric_offset()))
                .unwrap_or(jiff::tz::Offset::UTC);
            short_date_time(&t.to_zoned(jiff::tz::TimeZone::fixed(offset)), lang)
        }
        Err(_) => raw.to_owned(),
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// One entry of the audit log, in words.
#[derive(Debug, Clone)]
pub(crate) struct AuditRow {
    pub(crate) when: String,
    pub(crate) who: String,
    pub(crate) what: String,
    pub(crate) subject: String,
    pub(crate) citizen: String,
    pub(crate) detail: String,
    pub(crate) source: String,
}

/// The audit log page.
#[derive(Template)]
#[template(path = "staff/audit.html")]
pub(crate) struct AuditPage {
    pub(crate) p: Page,
    pub(crate) summary: Summary,
    pub(crate) act: ChoiceField,
    pub(crate) who: ChoiceField,
    pub(crate) from: Field,
    pub(crate) to: Field,
    pub(crate) rows: Vec<AuditRow>,
    pub(crate) next: Option<String>,
    pub(crate) first_page: bool,
}

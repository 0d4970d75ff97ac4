//! Every word the citizen pages show, in Italian and English.

use jiff::Zoned;
use ricevo_core::{Lang, Mode};
use ricevo_store::AppointmentStatus;

/// The fixed texts of the citizen pages in one language.
pub(crate) struct Texts {
    /// Skip link.
    pub skip: &'static str,
    /// The slim header's line.
    pub tagline: &'static str,
    /// First breadcrumb.
    pub home: &'static str,
    /// Label of the breadcrumb navigation.
    pub breadcrumb: &'static str,
    /// Footer line.
    pub footer: &'static str,
    /// Label of the contact link in the footer.
    pub contact: &'static str,
    /// Index heading.
    pub index_title: &'static str,
    /// Index introduction.
    pub index_intro: &'static str,
    /// No towns yet.
    pub index_empty: &'static str,
    /// Town page introduction.
    pub town_intro: &'static str,
    /// A town with nothing bookable.
    pub town_empty: &'static str,
    /// "What to bring" heading.
    pub what_to_bring: &'static str,
    /// Service facts: office.
    pub office: &'static str,
    /// Service facts: address.
    pub address: &'static str,
    /// Service facts: length.
    pub duration: &'static str,
    /// Service facts: modes.
    pub modes: &'static str,
    /// Slot picker heading.
    pub choose_time: &'static str,
    /// Slot picker introduction.
    pub choose_time_intro: &'static str,
    /// A day without free times.
    pub no_slots_day: &'static str,
    /// A full slot.
    pub full: &'static str,
    /// Label of the pager navigation.
    pub more_days: &'static str,
    /// Pager: back.
    pub earlier: &'static str,
    /// Pager: forward.
    pub later: &'static str,
    /// The chosen time, above the form.
    pub chosen_time: &'static str,
    /// Link back to the picker.
    pub change_time: &'static str,
    /// Name field.
    pub name: &'static str,
    /// E-mail field.
    pub email: &'static str,
    /// Hint of the e-mail field.
    pub email_hint: &'static str,
    /// Phone field.
    pub phone: &'static str,
    /// Hint of the phone field.
    pub phone_hint: &'static str,
    /// Codice fiscale field.
    pub fiscal_code: &'static str,
    /// Mode legend.
    pub mode: &'static str,
    /// Notes field.
    pub notes: &'static str,
    /// Hint of the notes field.
    pub notes_hint: &'static str,
    /// Yes.
    pub yes: &'static str,
    /// No.
    pub no: &'static str,
    /// Empty option of a select.
    pub choose_option: &'static str,
    /// Privacy heading.
    pub privacy: &'static str,
    /// Privacy checkbox.
    pub privacy_accept: &'static str,
    /// Footer link to the town's privacy notice.
    pub privacy_link: &'static str,
    /// Footer link to the town's accessibility statement.
    pub accessibility_link: &'static str,
    /// Language of e-mails legend.
    pub email_lang: &'static str,
    /// Error summary heading.
    pub errors_title: &'static str,
    /// Title prefix of a page with errors.
    pub error_prefix: &'static str,
    /// Legend of the alternative times.
    pub alternatives: &'static str,
    /// No alternatives near the wanted time.
    pub no_alternatives: &'static str,
    /// Manage page heading.
    pub manage_title: &'static str,
    /// Banner after booking: heading.
    pub booked_title: &'static str,
    /// Banner after booking: text.
    pub booked_text: &'static str,
    /// Banner after moving: heading.
    pub moved_title: &'static str,
    /// Banner after moving: text.
    pub moved_text: &'static str,
    /// Facts: service.
    pub service: &'static str,
    /// Facts: date and time.
    pub when: &'static str,
    /// Facts: how the meeting takes place.
    pub meeting: &'static str,
    /// Facts: status.
    pub status: &'static str,
    /// Facts: name.
    pub booked_by: &'static str,
    /// Facts: reference.
    pub reference: &'static str,
    /// Join link.
    pub join: &'static str,
    /// Hint of the join link.
    pub join_hint: &'static str,
    /// Hint for phone meetings.
    pub phone_meeting_hint: &'static str,
    /// Calendar download.
    pub ics: &'static str,
    /// Move link.
    pub move_link: &'static str,
    /// Cancel link.
    pub cancel_link: &'static str,
    /// Book again.
    pub book_again: &'static str,
    /// Cancel confirmation heading.
    pub cancel_title: &'static str,
    /// Cancel confirmation text.
    pub cancel_text: &'static str,
    /// Cancel confirmation button.
    pub cancel_confirm: &'static str,
    /// Keep the appointment.
    pub cancel_keep: &'static str,
    /// After cancelling: heading.
    pub cancelled_title: &'static str,
    /// After cancelling: text.
    pub cancelled_text: &'static str,
    /// Move page heading.
    pub move_title: &'static str,
    /// Move page introduction.
    pub move_intro: &'static str,
    /// Current time on the move page.
    pub current_time: &'static str,
    /// Back to the appointment.
    pub back_to_appointment: &'static str,
    /// Back to the home page.
    pub back_home: &'static str,
    /// Expired or forged form: heading.
    pub csrf_title: &'static str,
    /// Expired or forged form: explanation.
    pub csrf_text: &'static str,
    /// Reload the form.
    pub csrf_retry: &'static str,
    /// Unreadable time in a link.
    pub bad_start: &'static str,
    /// Back to the list of times.
    pub back_to_times: &'static str,
    /// Unreadable form.
    pub bad_form: &'static str,
    // ---- citizens without e-mail (booking) ----
    /// Banner after booking, for a citizen who gave no e-mail: text.
    pub booked_no_email_text: &'static str,
    /// The box of what to keep: heading.
    pub keep_title: &'static str,
    /// The box of what to keep: the code.
    pub keep_code: &'static str,
    /// The box of what to keep: the personal link.
    pub keep_link: &'static str,
    /// The box of what to keep: advice.
    pub keep_hint: &'static str,
    // ---- path: the booking steps, header and footer, picker reasons ----
    /// The label of the step indicator.
    pub steps_label: &'static str,
    /// Step 1: the office.
    pub step_place: &'static str,
    /// Step 2: date and time.
    pub step_time: &'static str,
    /// Step 3: the details and the reason.
    pub step_details: &'static str,
    /// Step 4: who books.
    pub step_applicant: &'static str,
    /// Step 5: the review.
    pub step_summary: &'static str,
    /// "Passo {n} di {total}".
    pub step_of: &'static str,
    /// Said after a completed step, for screen readers.
    pub step_done: &'static str,
    /// The button to the next step.
    pub next: &'static str,
    /// The button back to the previous step.
    pub back: &'static str,
    /// The "change" link or button of a summary section.
    pub edit: &'static str,
    /// Above the summary.
    pub summary_intro: &'static str,
    /// The final confirmation button.
    pub confirm_book: &'static str,
    /// Under the final confirmation button.
    pub confirm_hint: &'static str,
    /// Above the details step.
    pub details_intro: &'static str,
    /// Above the applicant step.
    pub applicant_intro: &'static str,
    /// Marks an optional field.
    pub optional: &'static str,
    /// A summary value left empty.
    pub not_given: &'static str,
    /// The link to the booking from a service page (data-element appointment-booking).
    pub book_link: &'static str,
    /// Footer link and heading: legal notes.
    pub legal_notes: &'static str,
    /// Header link to the town's own site.
    pub town_website: &'static str,
    /// Footer: certified e-mail (PEC).
    pub pec: &'static str,
    /// Town page: the walk-in desk link.
    pub walk_in_link: &'static str,
    /// Town page: what the walk-in desk is.
    pub walk_in_intro_town: &'static str,
    /// Town page: people waiting at a walk-in desk now ({n}).
    pub waiting_now: &'static str,
    /// A walk-in desk open now.
    pub open_now: &'static str,
    /// A walk-in desk closed now.
    pub closed_now: &'static str,
    /// A picker day that is a holiday: "Festivo: {name}".
    pub holiday: &'static str,
    /// A picker day the office is closed.
    pub office_closed: &'static str,
    /// A picker day closed for a closure: "Ufficio chiuso: {reason}".
    pub closed_for: &'static str,
    /// A run of days without times: "{from} – {to}".
    pub days_without: &'static str,
    /// The notes, as the summary names them.
    pub notes_short: &'static str,
    /// The codice fiscale, as the summary names it.
    pub fiscal_code_short: &'static str,
    /// Marks the citizen's current time in the move picker.
    pub your_time: &'static str,
    /// Heading of the move confirmation.
    pub move_confirm_title: &'static str,
    /// The old time in the move confirmation.
    pub move_from: &'static str,
    /// The new time in the move confirmation.
    pub move_to: &'static str,
    /// The button that moves.
    pub move_confirm: &'static str,
    /// The link back to choose another time.
    pub move_other: &'static str,
}

/// Italian, the default.
pub(crate) const IT: Texts = Texts {
    skip: "Vai al contenuto",
    tagline: "Prenotazione appuntamenti con gli uffici comunali",
    home: "Home",
    breadcrumb: "Percorso di navigazione",
    footer: "Ricevo: il ricevimento virtuale degli uffici comunali.",
    contact: "Contatti",
    index_title: "Prenota un appuntamento con il tuo Comune",
    index_intro: "Scegli il tuo Comune per vedere gli uffici e i servizi che ricevono su appuntamento: \
                  in presenza, al telefono o in videochiamata, senza registrarti.",
    index_empty: "Nessun Comune è ancora configurato.",
    town_intro: "Scegli il servizio: vedrai gli orari liberi e potrai prenotare senza registrarti.",
    town_empty: "Al momento non ci sono servizi prenotabili.",
    what_to_bring: "Cosa preparare",
    office: "Ufficio",
    address: "Indirizzo",
    duration: "Durata",
    modes: "Modalità",
    choose_time: "Scegli giorno e ora",
    choose_time_intro: "Sono elencati gli orari dei prossimi giorni. Scegli un orario libero per inserire i tuoi dati.",
    no_slots_day: "Nessun orario disponibile in questo giorno.",
    full: "completo",
    more_days: "Altri giorni",
    earlier: "← Giorni precedenti",
    later: "Giorni successivi →",
    chosen_time: "Orario scelto",
    change_time: "Cambia orario",
    name: "Nome e cognome",
    email: "E-mail",
    email_hint: "Ti invieremo la conferma con il link per spostare o annullare l'appuntamento. \
                 Se non hai un'e-mail lascia vuoto e indica il telefono.",
    phone: "Telefono",
    phone_hint: "Obbligatorio se non indichi un'e-mail o se scegli l'appuntamento telefonico.",
    fiscal_code: "Codice fiscale (facoltativo)",
    mode: "Come vuoi incontrare l'ufficio?",
    notes: "Note per l'ufficio (facoltativo)",
    notes_hint: "Descrivi in breve di cosa hai bisogno. Non inserire dati sanitari.",
    yes: "Sì",
    no: "No",
    choose_option: "Scegli…",
    privacy: "Informativa sulla privacy",
    privacy_accept: "Ho letto l'informativa sul trattamento dei dati personali",
    privacy_link: "Informativa privacy",
    accessibility_link: "Dichiarazione di accessibilità",
    email_lang: "Lingua delle e-mail",
    errors_title: "Controlla questi campi",
    error_prefix: "Errore: ",
    alternatives: "Scegli uno di questi orari liberi",
    no_alternatives: "Non ci sono orari liberi vicini: torna all'elenco e scegli un altro giorno.",
    manage_title: "Il tuo appuntamento",
    booked_title: "Prenotazione confermata",
    booked_text: "Ti abbiamo inviato un'e-mail con questi dettagli. Conserva l'indirizzo di questa pagina: \
                  ti permette di spostare o annullare l'appuntamento.",
    moved_title: "Appuntamento spostato",
    moved_text: "Ti abbiamo inviato un'e-mail con il nuovo orario.",
    service: "Servizio",
    when: "Data e ora",
    meeting: "Modalità",
    status: "Stato",
    booked_by: "Prenotato da",
    reference: "Codice della prenotazione",
    join: "Entra nella sala d'attesa virtuale",
    join_hint: "Il giorno dell'appuntamento apri questo link dal browser, senza installare nulla: \
                l'operatore ti farà entrare.",
    phone_meeting_hint: "L'ufficio ti chiamerà all'orario indicato.",
    ics: "Aggiungi al calendario (.ics)",
    move_link: "Sposta l'appuntamento",
    cancel_link: "Annulla l'appuntamento",
    book_again: "Prenota un nuovo appuntamento",
    cancel_title: "Vuoi annullare l'appuntamento?",
    cancel_text: "Se annulli, l'orario tornerà disponibile per altri cittadini. Ti invieremo un'e-mail di conferma.",
    cancel_confirm: "Sì, annulla l'appuntamento",
    cancel_keep: "No, mantieni l'appuntamento",
    cancelled_title: "Appuntamento annullato",
    cancelled_text: "L'appuntamento è stato annullato. Ti abbiamo inviato un'e-mail di conferma.",
    move_title: "Sposta l'appuntamento",
    move_intro: "Scegli il nuovo orario: prima di spostare l'appuntamento ti chiederemo di confermare, poi riceverai un'e-mail.",
    current_time: "Orario attuale",
    back_to_appointment: "Torna all'appuntamento",
    back_home: "Torna alla pagina iniziale",
    csrf_title: "Il modulo è scaduto",
    csrf_text: "Per proteggere i tuoi dati accettiamo solo moduli inviati dalla pagina in cui li hai compilati, \
                con i cookie attivi. Forse la pagina è rimasta aperta a lungo o i cookie sono disattivati. \
                Ricarica la pagina e riprova: nessuna modifica è stata fatta.",
    csrf_retry: "Ricarica il modulo",
    bad_start: "L'orario indicato nel link non è valido. Torna all'elenco degli orari e scegline uno.",
    back_to_times: "Torna all'elenco degli orari",
    bad_form: "Non è stato possibile leggere il modulo inviato. Ricarica la pagina e riprova.",
    booked_no_email_text: "Non hai indicato un'e-mail, quindi non riceverai messaggi: conserva ora il codice e \
                           il link qui sotto.",
    keep_title: "Conserva questi dati",
    keep_code: "Il tuo codice della prenotazione",
    keep_link: "Il tuo link personale",
    keep_hint: "Aggiungi questa pagina ai preferiti, oppure scrivi o fotografa il codice e il link. Il link ti \
                permette di vedere, spostare o annullare l'appuntamento; il codice serve se telefoni o vai \
                all'ufficio. Il link è personale: non condividerlo.",
    // ---- path ----
    steps_label: "Passaggi della prenotazione",
    step_place: "Ufficio",
    step_time: "Data e orario",
    step_details: "Dettagli appuntamento",
    step_applicant: "Richiedente",
    step_summary: "Riepilogo",
    step_of: "Passo {n} di {total}",
    step_done: "completato",
    next: "Avanti",
    back: "Indietro",
    edit: "Modifica",
    summary_intro: "Controlla i dati: l'appuntamento sarà prenotato solo quando premi «Conferma la prenotazione».",
    confirm_book: "Conferma la prenotazione",
    confirm_hint: "Riceverai il codice della prenotazione e il link per spostarla o annullarla.",
    details_intro: "Indica come vuoi incontrare l'ufficio e il motivo dell'appuntamento.",
    applicant_intro: "Indica chi prenota e come possiamo contattarti.",
    optional: "(facoltativo)",
    not_given: "non indicato",
    book_link: "Prenota appuntamento",
    legal_notes: "Note legali",
    town_website: "Sito del Comune",
    pec: "PEC",
    walk_in_link: "Sportello virtuale senza appuntamento",
    walk_in_intro_town: "Prendi un numero e aspetta il tuo turno nella sala d'attesa, senza prenotare.",
    waiting_now: "In attesa ora: {n}",
    open_now: "Aperto ora",
    closed_now: "Chiuso ora",
    holiday: "Festivo: {name}",
    office_closed: "Ufficio chiuso",
    closed_for: "Ufficio chiuso: {reason}",
    days_without: "{from} – {to}",
    notes_short: "Note per l'ufficio",
    fiscal_code_short: "Codice fiscale",
    your_time: "il tuo orario attuale",
    move_confirm_title: "Confermi lo spostamento?",
    move_from: "Orario attuale",
    move_to: "Nuovo orario",
    move_confirm: "Sì, sposta l'appuntamento",
    move_other: "Scegli un altro orario",
};

/// English.
pub(crate) const EN: Texts = Texts {
    skip: "Skip to content",
    tagline: "Appointments with the town hall's offices",
    home: "Home",
    breadcrumb: "Breadcrumb",
    footer: "Ricevo: the virtual reception desk of the town hall.",
    contact: "Contact",
    index_title: "Book an appointment with your town hall",
    index_intro: "Choose your town to see the offices and services you can book: in person, by phone or \
                  by video call, without an account.",
    index_empty: "No town is set up yet.",
    town_intro: "Choose a service: you will see the free times and can book without an account.",
    town_empty: "There are no services to book at the moment.",
    what_to_bring: "What to prepare",
    office: "Office",
    address: "Address",
    duration: "Length",
    modes: "Ways to meet",
    choose_time: "Choose a day and time",
    choose_time_intro: "These are the times of the coming days. Choose a free time to enter your details.",
    no_slots_day: "No times available on this day.",
    full: "full",
    more_days: "More days",
    earlier: "← Earlier days",
    later: "Later days →",
    chosen_time: "Chosen time",
    change_time: "Change time",
    name: "Full name",
    email: "E-mail",
    email_hint: "We will send you the confirmation with the link to move or cancel the appointment. \
                 If you have no e-mail, leave it blank and give your phone number.",
    phone: "Phone",
    phone_hint: "Required if you give no e-mail or choose a phone appointment.",
    fiscal_code: "Italian tax code, codice fiscale (optional)",
    mode: "How do you want to meet the office?",
    notes: "Notes for the office (optional)",
    notes_hint: "Briefly describe what you need. Do not enter health data.",
    yes: "Yes",
    no: "No",
    choose_option: "Choose…",
    privacy: "Privacy notice",
    privacy_accept: "I have read the privacy notice",
    privacy_link: "Privacy notice",
    accessibility_link: "Accessibility statement",
    email_lang: "Language of e-mails",
    errors_title: "Please check these fields",
    error_prefix: "Error: ",
    alternatives: "Choose one of these free times",
    no_alternatives: "There are no free times nearby: go back to the list and choose another day.",
    manage_title: "Your appointment",
    booked_title: "Booking confirmed",
    booked_text: "We have sent you an e-mail with these details. Keep the address of this page: it lets you \
                  move or cancel the appointment.",
    moved_title: "Appointment moved",
    moved_text: "We have sent you an e-mail with the new time.",
    service: "Service",
    when: "Date and time",
    meeting: "Meeting",
    status: "Status",
    booked_by: "Booked by",
    reference: "Booking reference",
    join: "Enter the virtual waiting room",
    join_hint: "On the day, open this link in your browser, nothing to install: the official will let you in.",
    phone_meeting_hint: "The office will call you at the time shown.",
    ics: "Add to calendar (.ics)",
    move_link: "Move the appointment",
    cancel_link: "Cancel the appointment",
    book_again: "Book a new appointment",
    cancel_title: "Cancel the appointment?",
    cancel_text: "If you cancel, the time becomes free for other citizens. We will send you a confirmation e-mail.",
    cancel_confirm: "Yes, cancel the appointment",
    cancel_keep: "No, keep the appointment",
    cancelled_title: "Appointment cancelled",
    cancelled_text: "The appointment has been cancelled. We have sent you a confirmation e-mail.",
    move_title: "Move the appointment",
    move_intro: "Choose the new time: we will ask you to confirm before moving the appointment, then you get an e-mail.",
    current_time: "Current time",
    back_to_appointment: "Back to the appointment",
    back_home: "Back to the home page",
    csrf_title: "The form has expired",
    csrf_text: "To protect your data we only accept forms sent from the page where you filled them in, with \
                cookies enabled. The page may have been open for a long time, or cookies are disabled. \
                Reload the page and try again: nothing has been changed.",
    csrf_retry: "Reload the form",
    bad_start: "The time in the link is not valid. Go back to the list of times and choose one.",
    back_to_times: "Back to the list of times",
    bad_form: "The form could not be read. Reload the page and try again.",
    booked_no_email_text: "You gave no e-mail, so you will not receive any message: keep the code and the link \
                           below now.",
    keep_title: "Keep these details",
    keep_code: "Your booking reference",
    keep_link: "Your personal link",
    keep_hint: "Bookmark this page, or write down or take a photo of the code and the link. The link lets you \
                see, move or cancel the appointment; quote the code if you phone or visit the office. The link \
                is personal: do not share it.",
    // ---- path ----
    steps_label: "Booking steps",
    step_place: "Office",
    step_time: "Date and time",
    step_details: "Appointment details",
    step_applicant: "Applicant",
    step_summary: "Summary",
    step_of: "Step {n} of {total}",
    step_done: "done",
    next: "Next",
    back: "Back",
    edit: "Change",
    summary_intro: "Check your details: the appointment is booked only when you press “Confirm the booking”.",
    confirm_book: "Confirm the booking",
    confirm_hint: "You will get the booking reference and the link to move or cancel it.",
    details_intro: "Tell us how you want to meet the office and why.",
    applicant_intro: "Tell us who is booking and how we can reach you.",
    optional: "(optional)",
    not_given: "not given",
    book_link: "Book an appointment",
    legal_notes: "Legal notes",
    town_website: "Town website",
    pec: "Certified e-mail (PEC)",
    walk_in_link: "Virtual desk without appointment",
    walk_in_intro_town: "Take a number and wait for your turn in the waiting room, without booking.",
    waiting_now: "Waiting now: {n}",
    open_now: "Open now",
    closed_now: "Closed now",
    holiday: "Public holiday: {name}",
    office_closed: "Office closed",
    closed_for: "Office closed: {reason}",
    days_without: "{from} – {to}",
    notes_short: "Notes for the office",
    fiscal_code_short: "Italian tax code (codice fiscale)",
    your_time: "your current time",
    move_confirm_title: "Confirm the move?",
    move_from: "Current time",
    move_to: "New time",
    move_confirm: "Yes, move the appointment",
    move_other: "Choose another time",
};

/// The texts of a language.
pub(crate) fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::It => &IT,
        Lang::En => &EN,
    }
}

/// The language's own name, for the switch link.
pub(crate) fn lang_name(lang: Lang) -> &'static str {
    match lang {
        Lang::It => "Italiano",
        Lang::En => "English",
    }
}

/// "20 minuti".
pub(crate) fn minutes(lang: Lang, n: i32) -> String {
    match lang {
        Lang::It => format!("{n} minuti"),
        Lang::En => format!("{n} minutes"),
    }
}

/// The name of a mode of meeting.
pub(crate) fn mode_name(lang: Lang, mode: Mode) -> &'static str {
    match (lang, mode) {
        (Lang::It, Mode::Video) => "Videochiamata",
        (Lang::It, Mode::InPerson) => "In presenza, allo sportello",
        (Lang::It, Mode::Phone) => "Telefonata",
        (Lang::En, Mode::Video) => "Video call",
        (Lang::En, Mode::InPerson) => "In person, at the desk",
        (Lang::En, Mode::Phone) => "Phone call",
    }
}

/// The modes of a service, joined for a list.
pub(crate) fn mode_list(lang: Lang, modes: &[Mode]) -> String {
    modes.iter().map(|m| mode_name(lang, *m)).collect::<Vec<_>>().join(", ")
}

/// The name of an appointment's status.
pub(crate) fn status_name(lang: Lang, status: AppointmentStatus) -> &'static str {
    match (lang, status) {
        (Lang::It, AppointmentStatus::Booked) => "Prenotato",
        (Lang::It, AppointmentStatus::CheckedIn) => "In attesa di essere ricevuto",
        (Lang::It, AppointmentStatus::Done) => "Concluso",
        (Lang::It, AppointmentStatus::NoShow) => "Non presentato",
        (Lang::It, AppointmentStatus::Cancelled) => "Annullato",
        (Lang::En, AppointmentStatus::Booked) => "Booked",
        (Lang::En, AppointmentStatus::CheckedIn) => "Waiting to be received",
        (Lang::En, AppointmentStatus::Done) => "Done",
        (Lang::En, AppointmentStatus::NoShow) => "Did not attend",
        (Lang::En, AppointmentStatus::Cancelled) => "Cancelled",
    }
}

/// "lunedì 7 dicembre 2026, ore 09:00", as the e-mails write it.
pub(crate) fn when(lang: Lang, at: &Zoned) -> String {
    ricevo_notify::human_datetime(lang, at)
}

/// "lunedì 7 dicembre 2026": the date part of [`when`].
pub(crate) fn day_words(lang: Lang, at: &Zoned) -> String {
    let full = when(lang, at);
    match full.rsplit_once(", ") {
        Some((day, _)) => day.to_owned(),
        None => full,
    }
}

/// The accessible name of a time in the picker: "Prenota lunedì 7 dicembre 2026 alle 09:00, 2 posti liberi".
pub(crate) fn slot_action(lang: Lang, moving: bool, day: &str, time: &str, free: u16) -> String {
    match lang {
        Lang::It => {
            let verb = if moving { "Sposta a" } else { "Prenota" };
            let seats = if free == 1 { "1 posto libero".to_owned() } else { format!("{free} posti liberi") };
            format!("{verb} {day} alle {time}, {seats}")
        }
        Lang::En => {
            let verb = if moving { "Move to" } else { "Book" };
            let seats = if free == 1 { "1 place free".to_owned() } else { format!("{free} places free") };
            format!("{verb} {day} at {time}, {seats}")
        }
    }
}

/// The accessible name of a full time: "lunedì 7 dicembre 2026 alle 09:20, completo".
pub(crate) fn slot_full(lang: Lang, day: &str, time: &str) -> String {
    match lang {
        Lang::It => format!("{day} alle {time}, completo"),
        Lang::En => format!("{day} at {time}, full"),
    }
}

/// Short visible note under a time: "2 posti".
pub(crate) fn seats_short(lang: Lang, free: u16) -> String {
    match (lang, free) {
        (Lang::It, 1) => "1 posto".into(),
        (Lang::It, n) => format!("{n} posti"),
        (Lang::En, 1) => "1 place".into(),
        (Lang::En, n) => format!("{n} places"),
    }
}

/// The heading of an error page by HTTP status.
pub(crate) fn error_title(lang: Lang, status: u16) -> &'static str {
    match (lang, status) {
        (Lang::It, 400 | 422) => "Richiesta non valida",
        (Lang::En, 400 | 422) => "Invalid request",
        (Lang::It, 401 | 403) => "Operazione non consentita",
        (Lang::En, 401 | 403) => "Not allowed",
        (Lang::It, 404) => "Pagina non trovata",
        (Lang::En, 404) => "Page not found",
        (Lang::It, 409) => "Operazione non possibile",
        (Lang::En, 409) => "This cannot be done",
        (Lang::It, 429) => "Troppe richieste",
        (Lang::En, 429) => "Too many requests",
        (Lang::It, _) => "Servizio momentaneamente non disponibile",
        (Lang::En, _) => "Service temporarily unavailable",
    }
}

/// The message of a 5xx page (the detail goes to the log, never to the page).
pub(crate) fn unavailable(lang: Lang) -> &'static str {
    match lang {
        Lang::It => "Non è stato possibile completare l'operazione. Riprova tra qualche minuto.",
        Lang::En => "The action could not be completed. Please try again in a few minutes.",
    }
}

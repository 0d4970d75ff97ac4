//! A report as tables in the reader's language: what the page shows beside each chart, and
//! what the CSV and ODS exports hold, cell for cell.

use crate::lang::tr;
use ricevo_core::Lang;
use ricevo_core::report::{Figures, Report, Row, Spread};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Words.
    Text(String),
    /// A count.
    Int(u64),
    /// A measure (minutes, days, an average rating).
    Dec(f64),
    /// Withheld: the group is smaller than five (or there is nothing to measure).
    None,
}

impl Cell {
    /// As the page and the CSV write it (`—` on the page for a withheld cell, nothing in CSV).
    pub(crate) fn text(&self, page: bool) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Dec(x) => format!("{x:.1}"),
            Cell::None if page => "—".into(),
            Cell::None => String::new(),
        }
    }
}

/// One table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Its key in URLs (`offices`).
    pub(crate) key: &'static str,
    /// Its title.
    pub(crate) title: String,
    /// Column headings.
    pub(crate) headings: Vec<String>,
    /// Rows; the first cell of each is its heading.
    pub(crate) rows: Vec<Vec<Cell>>,
}

/// The keys of every table, in the page's order.
pub(crate) const KEYS: [&str; 8] =
    ["summary", "channels", "modes", "offices", "services", "weekdays", "hours", "satisfaction"];

/// A channel's name.
pub(crate) fn channel_name(key: &str, lang: Lang) -> &'static str {
    match key {
        "page" => tr(lang, "Pagine per il cittadino", "Citizen pages"),
        "api" => tr(lang, "API (portale, widget)", "API (portal, widget)"),
        "staff" => tr(lang, "Personale per conto del cittadino", "Staff on the citizen's behalf"),
        "telegram" => tr(lang, "Bot Telegram", "Telegram bot"),
        _ => tr(lang, "Non registrato", "Not recorded"),
    }
}

/// A mode's name.
pub(crate) fn mode_name(key: &str, lang: Lang) -> &'static str {
    match key {
        "video" => tr(lang, "Videochiamata", "Video call"),
        "in_person" => tr(lang, "In presenza", "In person"),
        _ => tr(lang, "Telefono", "Phone"),
    }
}

/// The weekdays, Monday first.
pub(crate) fn weekday_names(lang: Lang) -> [&'static str; 7] {
    if lang == Lang::It {
        ["Lunedì", "Martedì", "Mercoledì", "Giovedì", "Venerdì", "Sabato", "Domenica"]
    } else {
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    }
}

fn minutes(seconds: Option<i64>) -> Cell {
    seconds.map_or(Cell::None, |s| Cell::Dec(s as f64 / 60.0))
}

fn days(hours: Option<i64>) -> Cell {
    hours.map_or(Cell::None, |h| Cell::Dec(h as f64 / 24.0))
}

fn spread_rows(rows: &mut Vec<Vec<Cell>>, s: &Spread, median: &str, p90: &str, unit: fn(Option<i64>) -> Cell) {
    rows.push(vec![Cell::Text(median.to_owned()), unit(s.median)]);
    rows.push(vec![Cell::Text(p90.to_owned()), unit(s.p90)]);
}

fn summary(f: &Figures, lang: Lang) -> Vec<Vec<Cell>> {
    let t = |it, en| Cell::Text(tr(lang, it, en).to_owned());
    let mut rows = vec![
        vec![t("Appuntamenti nel periodo", "Appointments in the period"), Cell::Int(f.appointments)],
        vec![t("Svolti", "Held"), Cell::Int(f.done)],
        vec![t("Annullati", "Cancelled"), Cell::Int(f.cancelled)],
        vec![t("Spostamenti", "Moves"), Cell::Int(f.moves)],
        vec![t("Assenze (cittadino non presentato)", "No-shows"), Cell::Int(f.no_shows)],
    ];
    spread_rows(
        &mut rows,
        &f.wait_seconds,
        tr(
            lang,
            "Attesa in sala d'attesa virtuale, mediana (minuti)",
            "Wait in the virtual waiting room, median (minutes)",
        ),
        tr(lang, "Attesa, 90° percentile (minuti)", "Wait, 90th percentile (minutes)"),
        minutes,
    );
    spread_rows(
        &mut rows,
        &f.meeting_seconds,
        tr(lang, "Durata delle videochiamate, mediana (minuti)", "Meeting length, median (minutes)"),
        tr(lang, "Durata delle videochiamate, 90° percentile (minuti)", "Meeting length, 90th percentile (minutes)"),
        minutes,
    );
    spread_rows(
        &mut rows,
        &f.lead_hours,
        tr(lang, "Anticipo della prenotazione, mediana (giorni)", "Booking lead time, median (days)"),
        tr(lang, "Anticipo della prenotazione, 90° percentile (giorni)", "Booking lead time, 90th percentile (days)"),
        days,
    );
    rows.extend([
        vec![t("Biglietti allo sportello presi", "Walk-in tickets taken"), Cell::Int(f.tickets.taken)],
        vec![t("Biglietti serviti", "Tickets served"), Cell::Int(f.tickets.served)],
        vec![t("Biglietti abbandonati", "Tickets abandoned"), Cell::Int(f.tickets.abandoned)],
        vec![t("Valutazioni ricevute", "Ratings received"), Cell::Int(f.satisfaction.count)],
        vec![
            t("Valutazione media (1-5)", "Average rating (1-5)"),
            f.satisfaction.average.map_or(Cell::None, Cell::Dec),
        ],
    ]);
    rows
}

fn breakdown(rows: &[Row], with_tickets: bool) -> Vec<Vec<Cell>> {
    rows.iter()
        .map(|r| {
            let mut cells = vec![Cell::Text(r.name.clone()), Cell::Int(r.appointments)];
            match &r.figures {
                Some(f) => {
                    cells.extend([
                        Cell::Int(f.cancelled),
                        Cell::Int(f.moves),
                        Cell::Int(f.no_shows),
                        minutes(f.wait_seconds.median),
                        minutes(f.wait_seconds.p90),
                    ]);
                    if with_tickets {
                        cells.extend([Cell::Int(f.tickets.served), Cell::Int(f.tickets.abandoned)]);
                    }
                    cells.extend([
                        Cell::Int(f.satisfaction.count),
                        f.satisfaction.average.map_or(Cell::None, Cell::Dec),
                    ]);
                }
                None => cells.extend(std::iter::repeat_n(Cell::None, if with_tickets { 9 } else { 7 })),
            }
            cells
        })
        .collect()
}

fn breakdown_headings(first: &str, lang: Lang, with_tickets: bool) -> Vec<String> {
    let mut h = vec![
        first.to_owned(),
        tr(lang, "Appuntamenti", "Appointments").to_owned(),
        tr(lang, "Annullati", "Cancelled").to_owned(),
        tr(lang, "Spostamenti", "Moves").to_owned(),
        tr(lang, "Assenze", "No-shows").to_owned(),
        tr(lang, "Attesa mediana (min)", "Median wait (min)").to_owned(),
        tr(lang, "Attesa 90° perc. (min)", "90th pct. wait (min)").to_owned(),
    ];
    if with_tickets {
        h.push(tr(lang, "Biglietti serviti", "Tickets served").to_owned());
        h.push(tr(lang, "Biglietti abbandonati", "Tickets abandoned").to_owned());
    }
    h.push(tr(lang, "Valutazioni", "Ratings").to_owned());
    h.push(tr(lang, "Valutazione media", "Average rating").to_owned());
    h
}

/// Every table of a report, in [`KEYS`] order.
pub(crate) fn tables(r: &Report, lang: Lang) -> Vec<Table> {
    let s = |x: &str| x.to_owned();
    let appointments = s(tr(lang, "Appuntamenti", "Appointments"));
    let f = &r.town;
    vec![
        Table {
            key: "summary",
            title: s(tr(lang, "Riepilogo", "Summary")),
            headings: vec![s(tr(lang, "Dato", "Figure")), s(tr(lang, "Valore", "Value"))],
            rows: summary(f, lang),
        },
        Table {
            key: "channels",
            title: s(tr(lang, "Prenotazioni per canale", "Bookings by channel")),
            headings: vec![s(tr(lang, "Canale", "Channel")), appointments.clone()],
            rows: f
                .by_channel
                .iter()
                .map(|c| vec![Cell::Text(s(channel_name(c.key, lang))), Cell::Int(c.count)])
                .collect(),
        },
        Table {
            key: "modes",
            title: s(tr(lang, "Prenotazioni per modalità", "Bookings by mode")),
            headings: vec![s(tr(lang, "Modalità", "Mode")), appointments.clone()],
            rows: f.by_mode.iter().map(|c| vec![Cell::Text(s(mode_name(c.key, lang))), Cell::Int(c.count)]).collect(),
        },
        Table {
            key: "offices",
            title: s(tr(lang, "Per ufficio", "By office")),
            headings: breakdown_headings(tr(lang, "Ufficio", "Office"), lang, true),
            rows: breakdown(&r.offices, true),
        },
        Table {
            key: "services",
            title: s(tr(lang, "Per servizio", "By service")),
            headings: breakdown_headings(tr(lang, "Servizio", "Service"), lang, false),
            rows: breakdown(&r.services, false),
        },
        Table {
            key: "weekdays",
            title: s(tr(lang, "Giorni più richiesti", "Busiest days")),
            headings: vec![s(tr(lang, "Giorno", "Day")), appointments.clone()],
            rows: weekday_names(lang)
                .iter()
                .zip(r.weekdays)
                .map(|(d, n)| vec![Cell::Text(s(d)), Cell::Int(n)])
                .collect(),
        },
        Table {
            key: "hours",
            title: s(tr(lang, "Ore più richieste", "Busiest hours")),
            headings: vec![s(tr(lang, "Ora", "Hour")), appointments],
            rows: r
                .hours
                .iter()
                .enumerate()
                .map(|(h, n)| vec![Cell::Text(format!("{h:02}:00")), Cell::Int(*n)])
                .collect(),
        },
        Table {
            key: "satisfaction",
            title: s(tr(lang, "Soddisfazione (valutazioni dopo il contatto)", "Satisfaction (ratings after contact)")),
            headings: vec![s(tr(lang, "Valutazione", "Rating")), s(tr(lang, "Risposte", "Answers"))],
            rows: (1..=5u8)
                .map(|rating| {
                    let n = f.satisfaction.distribution.map_or(Cell::None, |d| Cell::Int(d[usize::from(rating - 1)]));
                    vec![Cell::Text(format!("{rating}")), n]
                })
                .collect(),
        },
    ]
}

//! `ricevo report --towns a,b [--from D] [--to D] [--format csv|json]`: the instance
//! administrator compares towns (a union of towns, a region hosting several) with the same
//! figures the towns' staff see, side by side: one column per town in CSV, one report per town
//! in JSON. Whole towns only; no citizen is named.

use ricevo_core::report::{Figures, Report};
use ricevo_desk::Desk;
use ricevo_desk::reports::period_message;

/// How to print the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One row per figure, one column per town.
    Csv,
    /// `{"period": ..., "towns": {"slug": report, ...}}`.
    Json,
}

/// The options of `ricevo report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Town slugs, comma-separated (`--towns prato,vaiano`).
    #[arg(long, value_delimiter = ',', required = true)]
    towns: Vec<String>,
    /// The first day (YYYY-MM-DD); default: the last 30 days.
    #[arg(long)]
    from: Option<String>,
    /// The last day, included (YYYY-MM-DD); default: today.
    #[arg(long)]
    to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
}

fn spread(rows: &mut Vec<(String, String)>, name: &str, s: &ricevo_core::report::Spread) {
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    rows.push((format!("{name}_median"), opt(s.median)));
    rows.push((format!("{name}_p90"), opt(s.p90)));
}

/// The figures of a town as (name, value) rows, always in the same order.
fn figures(f: &Figures) -> Vec<(String, String)> {
    let mut rows = vec![("appointments".to_owned(), f.appointments.to_string())];
    rows.extend(f.by_channel.iter().map(|c| (format!("channel_{}", c.key), c.count.to_string())));
    rows.extend(f.by_mode.iter().map(|c| (format!("mode_{}", c.key), c.count.to_string())));
    for (name, n) in [("done", f.done), ("cancelled", f.cancelled), ("moves", f.moves), ("no_shows", f.no_shows)] {
        rows.push((name.to_owned(), n.to_string()));
    }
    spread(&mut rows, "wait_seconds", &f.wait_seconds);
    spread(&mut rows, "meeting_seconds", &f.meeting_seconds);
    spread(&mut rows, "lead_hours", &f.lead_hours);
    rows.push(("tickets_taken".into(), f.tickets.taken.to_string()));
    rows.push(("tickets_served".into(), f.tickets.served.to_string()));
    rows.push(("tickets_abandoned".into(), f.tickets.abandoned.to_string()));
    rows.push(("ratings".into(), f.satisfaction.count.to_string()));
    rows.push(("rating_average".into(), f.satisfaction.average.map(|a| format!("{a:.2}")).unwrap_or_default()));
    rows
}

/// Side by side as CSV: `figure,town1,town2,...`.
fn csv(reports: &[(String, Report)]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
    };
    let mut out = String::from("figure");
    for (slug, _) in reports {
        out.push(',');
        out.push_str(&quote(slug));
    }
    out.push('\n');
    let columns: Vec<Vec<(String, String)>> = reports.iter().map(|(_, r)| figures(&r.town)).collect();
    let names: Vec<String> = columns.first().map(|c| c.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default();
    for (i, name) in names.iter().enumerate() {
        out.push_str(name);
        for c in &columns {
            out.push(',');
            out.push_str(&quote(c.get(i).map_or("", |(_, v)| v.as_str())));
        }
        out.push('\n');
    }
    out
}

/// Runs the command: the text to print, or what went wrong.
pub(crate) async fn run(desk: &Desk, args: &ReportArgs) -> Result<String, String> {
    let mut towns = Vec::new();
    for slug in &args.towns {
        let t = desk.town(slug.trim()).await.map_err(|_| format!("no town with slug {slug:?}"))?;
        towns.push(t);
    }
    let first = towns.first().ok_or("--towns names no town")?;
    let period = ricevo_core::report::Period::parse(args.from.as_deref(), args.to.as_deref(), desk.today_in(first))
        .map_err(|e| period_message(e, ricevo_core::Lang::En).to_owned())?;
    let mut reports = Vec::new();
    for t in &towns {
        let r = desk.town_report(t, period).await.map_err(|e| e.to_string())?;
        reports.push((t.slug.clone(), r));
    }
    match args.format {
        Format::Csv => Ok(csv(&reports)),
        Format::Json => {
            let towns: serde_json::Map<String, serde_json::Value> = reports
                .into_iter()
                .map(|(slug, r)| Ok((slug, serde_json::to_value(r).map_err(|e| e.to_string())?)))
                .collect::<Result<_, String>>()?;
            let doc = serde_json::json!({ "period": period, "towns": towns });
            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
        }
    }
}
